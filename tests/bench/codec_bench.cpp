// Encode and decode cost per frame. Run on a release build: scripts/bench.sh
#include <benchmark/benchmark.h>

#include <vector>

#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"

namespace {

constexpr std::string_view kSubject = "telemetry.eu-west.sensor-42.temperature";

void BM_Encode(benchmark::State &state) {
  const std::vector<std::uint8_t> payload(static_cast<std::size_t>(state.range(0)), 0xAB);
  // One buffer written over and over: the memory a warm pool would hand out each time (the
  // product allocates a SharedBuffer per frame instead; that malloc is not the codec's cost).
  std::vector<std::uint8_t> buffer(flume::max_frame_size(flume::kDefaultMaxPayload));
  for (auto _ : state) {
    std::size_t written = 0;
    auto error = flume::encode_frame(flume::FrameType::publish, kSubject, payload, buffer, written);
    benchmark::DoNotOptimize(error);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_Decode(benchmark::State &state) {
  const std::vector<std::uint8_t> payload(static_cast<std::size_t>(state.range(0)), 0xAB);
  std::vector<std::uint8_t> wire(flume::frame_size(kSubject.size(), payload.size()));
  std::size_t written = 0;
  flume::encode_frame(flume::FrameType::publish, kSubject, payload, wire, written);
  flume::FrameDecoder decoder;
  for (auto _ : state) {
    std::span<const std::uint8_t> input(wire);
    flume::Frame frame{};
    auto status = decoder.next(input, frame);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(frame.payload.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

// The target in the foundation issue: decode plus encode of a 128-byte payload under 50 ns.
void BM_EncodeThenDecode(benchmark::State &state) {
  const std::vector<std::uint8_t> payload(static_cast<std::size_t>(state.range(0)), 0xAB);
  std::vector<std::uint8_t> wire(flume::frame_size(kSubject.size(), payload.size()));
  flume::FrameDecoder decoder;
  for (auto _ : state) {
    std::size_t written = 0;
    flume::encode_frame(flume::FrameType::publish, kSubject, payload, wire, written);
    std::span<const std::uint8_t> input(wire.data(), written);
    flume::Frame frame{};
    auto status = decoder.next(input, frame);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(frame.payload.data());
  }
}

// A stream delivered in 1200-byte pieces (about one QUIC packet each): frames span reads.
void BM_DecodeSplitStream(benchmark::State &state) {
  const std::vector<std::uint8_t> payload(static_cast<std::size_t>(state.range(0)), 0xAB);
  std::vector<std::uint8_t> stream;
  const std::size_t frames = std::max<std::size_t>(1, (1 << 20) / (payload.size() + 48));
  for (std::size_t i = 0; i < frames; ++i) {
    std::vector<std::uint8_t> one(flume::frame_size(kSubject.size(), payload.size()));
    std::size_t written = 0;
    flume::encode_frame(flume::FrameType::message, kSubject, payload, one, written);
    stream.insert(stream.end(), one.begin(), one.end());
  }
  flume::FrameDecoder decoder;
  for (auto _ : state) {
    std::size_t decoded = 0;
    for (std::size_t at = 0; at < stream.size(); at += 1200) {
      std::span<const std::uint8_t> input(stream.data() + at,
                                          std::min<std::size_t>(1200, stream.size() - at));
      flume::Frame frame{};
      while (decoder.next(input, frame) == flume::DecodeStatus::frame)
        ++decoded;
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(frames));
}

BENCHMARK(BM_Encode)->Arg(16)->Arg(128)->Arg(1024)->Arg(65536);
BENCHMARK(BM_Decode)->Arg(16)->Arg(128)->Arg(1024)->Arg(65536);
BENCHMARK(BM_EncodeThenDecode)->Arg(128);
BENCHMARK(BM_DecodeSplitStream)->Arg(128)->Arg(16384);

}  // namespace
