// flume-inspect: decodes a stream of Flume frames, prints each one, and shows which subscription
// patterns each published subject reaches. With no input it runs on a built-in sample, so the
// codec and the router can be seen working on real bytes before any network is involved.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"
#include "common/command_line.hpp"
#include "flume/version.hpp"
#include "router/subject_trie.hpp"
#include "text/encoding.hpp"

namespace {

constexpr const char *kDescription =
    R"(Decodes a stream of Flume frames (docs/protocol.md) from FILE or standard input, prints every
frame, and for each PUBLISH or MESSAGE lists the subscription patterns its subject matches.

With no FILE and a terminal on standard input (or with --demo) it decodes a built-in sample:
a client's HELLO, three SUBSCRIBEs, a few PUBLISHes and one malformed PUBLISH, fed to the
decoder 7 bytes at a time to show frames being reassembled across reads.)";

constexpr const char *kFooter = R"(examples:
  flume-inspect --demo
  echo '080300000002612e626869' | flume-inspect --hex -s 'a.*'

exit status: 0 when the whole input decoded, 1 on malformed input, 2 on a usage error.
)";

struct Options {
  std::vector<std::string> patterns;
  bool hex = false;
  bool demo = false;
  std::uint32_t max_payload = flume::kDefaultMaxPayload;
  std::size_t chunk = 0;
  std::string file;
};

Options parse_options(int argc, char **argv) {
  namespace command_line = flume::command_line;
  Options options;
  CLI::App app(kDescription, "flume-inspect");
  command_line::configure(app, "flume-inspect", flume::kVersion);
  app.footer(kFooter);
  app.add_option("-s,--subscribe", options.patterns,
                 "add a subscription pattern ('*' = one token, '>' = the rest);\nSUBSCRIBE "
                 "frames in the input are added too")
      ->type_name("PATTERN")
      ->allow_extra_args(false)  // one pattern each time
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("-x,--hex", options.hex,
               "input is hex text (whitespace ignored) instead of raw bytes");
  app.add_option_function<std::string>(
         "--max-payload",
         [&options](const std::string &value) {
           options.max_payload = static_cast<std::uint32_t>(
               command_line::whole_number("--max-payload", value, 1, flume::kHardMaxPayload));
         },
         "payload limit for the decoder (default 65536, at most 16777216)")
      ->type_name("BYTES");
  app.add_option_function<std::string>(
         "--chunk",
         [&options](const std::string &value) {
           options.chunk = command_line::whole_number("--chunk", value, 1, 1ULL << 30);
         },
         "feed the decoder this many bytes at a time (default: all at once;\n7 for --demo)")
      ->type_name("BYTES");
  app.add_flag("--demo", options.demo, "decode the built-in sample, whatever the input");
  app.add_option("FILE", options.file, "the input (default: standard input; '-' too)");
  command_line::parse_or_exit(app, argc, argv, [] { return std::string("flume-inspect"); });
  command_line::reject_extras(app.remaining(), "flume-inspect", " (only one input file)");
  return options;
}

void append_frame(std::vector<std::uint8_t> &stream, flume::FrameType type,
                  std::string_view subject, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> frame(flume::frame_size(subject.size(), payload.size()));
  std::size_t written = 0;
  if (flume::encode_frame(type, subject, payload, frame, written) != flume::FrameError::ok) {
    std::abort();  // the sample is fixed and valid
  }
  stream.insert(stream.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(written));
}

std::vector<std::uint8_t> demo_stream() {
  std::vector<std::uint8_t> stream;
  std::uint8_t buffer[256];
  auto text = [](std::string_view s) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t *>(s.data()),
                                         s.size());
  };

  flume::PropertyWriter hello(buffer);
  hello.put_u16(flume::PropertyId::protocol_version, 1)
      .put_string(flume::PropertyId::client_name, "inspect-demo");
  append_frame(stream, flume::FrameType::hello, "", hello.bytes());

  const char *patterns[] = {"orders.*.created", "orders.>", "sensors.*.temperature"};
  std::uint32_t id = 1;
  for (const char *pattern : patterns) {
    flume::PropertyWriter subscribe(buffer);
    subscribe.put_u32(flume::PropertyId::subscription_id, id++)
        .put_u8(flume::PropertyId::overflow_policy, 1);
    append_frame(stream, flume::FrameType::subscribe, pattern, subscribe.bytes());
  }
  append_frame(stream, flume::FrameType::publish, "orders.eu.created", text("{\"id\":17}"));
  append_frame(stream, flume::FrameType::publish, "orders.eu.shipped", text("{\"id\":9}"));
  append_frame(stream, flume::FrameType::publish, "sensors.lab-3.temperature", text("21.5"));
  append_frame(stream, flume::FrameType::publish, "sensors.lab-3.humidity", text("40"));
  append_frame(stream, flume::FrameType::ping, "", text("t1"));
  // A publisher that put a wildcard in a subject: the decoder reports it and carries on.
  const std::uint8_t bad[] = {0x08, 3, 0, 0, 0, 1, 'a', '.', '*', '!'};
  stream.insert(stream.end(), std::begin(bad), std::end(bad));
  append_frame(stream, flume::FrameType::publish, "orders.us.created", text("{\"id\":18}"));
  return stream;
}

bool read_input(const Options &options, std::vector<std::uint8_t> &out) {
  FILE *file = stdin;
  if (!options.file.empty() && options.file != "-") {
    file = std::fopen(options.file.c_str(), "rb");
    if (file == nullptr) {
      std::cerr << "flume-inspect: cannot open '" << options.file << "': " << std::strerror(errno)
                << "\n";
      return false;
    }
  }
  std::vector<std::uint8_t> raw;
  std::uint8_t block[65536];
  std::size_t n = 0;
  while ((n = std::fread(block, 1, sizeof block, file)) > 0)
    raw.insert(raw.end(), block, block + n);
  if (file != stdin) std::fclose(file);
  if (!options.hex) {
    out = std::move(raw);
    return true;
  }
  std::string digits;
  for (std::uint8_t c : raw) {
    if (std::isspace(c)) continue;
    if (!std::isxdigit(c)) {
      std::cerr << "flume-inspect: --hex input contains '" << static_cast<char>(c) << "'\n";
      return false;
    }
    digits.push_back(static_cast<char>(c));
  }
  auto bytes = flume::text::from_hex(digits);
  if (!bytes) {
    std::cerr << "flume-inspect: --hex input has an odd number of digits\n";
    return false;
  }
  out = std::move(*bytes);
  return true;
}

std::string printable(std::span<const std::uint8_t> bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < 48; ++i) {
    char c = static_cast<char>(bytes[i]);
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '.';
  }
  if (bytes.size() > 48) out += "...";
  return out;
}

std::string describe_properties(std::span<const std::uint8_t> payload) {
  flume::Properties properties;
  if (flume::FrameError error = properties.parse(payload); error != flume::FrameError::ok) {
    return std::string("malformed properties: ") + flume::describe(error);
  }
  static const std::pair<flume::PropertyId, const char *> kNames[] = {
      {flume::PropertyId::request_id, "request_id"},
      {flume::PropertyId::protocol_version, "protocol_version"},
      {flume::PropertyId::client_name, "client_name"},
      {flume::PropertyId::client_library, "client_library"},
      {flume::PropertyId::token, "token"},
      {flume::PropertyId::subscription_id, "subscription_id"},
      {flume::PropertyId::overflow_policy, "overflow_policy"},
      {flume::PropertyId::queue_limit, "queue_limit"},
      {flume::PropertyId::error_code, "error_code"},
      {flume::PropertyId::error_message, "error_message"},
      {flume::PropertyId::server_name, "server_name"},
      {flume::PropertyId::max_payload, "max_payload"},
      {flume::PropertyId::dropped_count, "dropped_count"},
      {flume::PropertyId::max_subscriptions, "max_subscriptions"},
  };
  std::string out = "{";
  for (auto [id, name] : kNames) {
    if (!properties.has(id)) continue;
    if (out.size() > 1) out += ", ";
    out += name;
    out += '=';
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict inside
    // `"(" + std::string` (GCC bug 105329), and appending is no slower.
    if (id == flume::PropertyId::token) {
      out += '(';
      out += std::to_string(properties.bytes(id).size());
      out += " bytes)";
    } else if (flume::property_integer_width(static_cast<std::uint8_t>(id)) != 0) {
      out += std::to_string(properties.integer(id));
    } else {
      out += '"';
      out += printable(properties.bytes(id));
      out += '"';
    }
  }
  return out + "}";
}

struct Inspector {
  flume::SubjectTrie<std::uint32_t> router;
  std::vector<std::string> patterns;  // index = value stored in the router
  std::size_t frames = 0;

  bool add_pattern(std::string_view pattern) {
    flume::SubscriptionHandle handle;
    flume::SubjectError error =
        router.subscribe(pattern, static_cast<std::uint32_t>(patterns.size()), handle);
    if (error != flume::SubjectError::ok) {
      std::cout << "    not subscribed: " << flume::describe(error) << "\n";
      return false;
    }
    patterns.emplace_back(pattern);
    return true;
  }

  void print(const flume::Frame &frame, std::size_t offset) {
    std::cout << "#" << ++frames << " @" << offset << " " << flume::frame_type_name(frame.type);
    switch (flume::subject_rule(frame.type)) {
      case flume::SubjectRule::subject:
        std::cout << " subject=\"" << frame.subject << "\" payload=" << frame.payload.size()
                  << " bytes \"" << printable(frame.payload) << "\"\n";
        route(frame.subject);
        return;
      case flume::SubjectRule::pattern:
        std::cout << " pattern=\"" << frame.subject << "\" " << describe_properties(frame.payload)
                  << "\n";
        if (add_pattern(frame.subject)) std::cout << "    subscribed\n";
        return;
      case flume::SubjectRule::none:
        if (frame.type == flume::FrameType::ping || frame.type == flume::FrameType::pong) {
          std::cout << " payload=" << frame.payload.size() << " bytes\n";
        } else {
          std::cout << " " << describe_properties(frame.payload) << "\n";
        }
        return;
    }
  }

  void route(std::string_view subject) {
    std::string matches;
    router.match(subject, [&](std::uint32_t index) {
      matches += matches.empty() ? "" : ", ";
      matches += patterns[index];
    });
    std::cout << "    -> " << (matches.empty() ? "no subscriber" : "matches " + matches) << "\n";
  }
};

}  // namespace

int main(int argc, char **argv) {
  Options options = parse_options(argc, argv);
  if (options.file.empty() && isatty(STDIN_FILENO)) options.demo = true;

  std::vector<std::uint8_t> stream;
  if (options.demo) {
    stream = demo_stream();
    if (options.chunk == 0) options.chunk = 7;
    std::cout << "flume-inspect: decoding the built-in sample (" << stream.size()
              << " bytes) in pieces of " << options.chunk << " bytes\n";
  } else if (!read_input(options, stream)) {
    return 1;
  }
  if (options.chunk == 0) options.chunk = stream.size() + 1;

  Inspector inspector;
  for (const std::string &pattern : options.patterns) {
    std::cout << "subscribe \"" << pattern << "\"\n";
    if (!inspector.add_pattern(pattern)) return 2;
  }

  flume::FrameDecoder decoder(options.max_payload);
  std::size_t offset = 0;  // of the first byte the decoder has not consumed
  std::size_t frame_start = 0;
  bool malformed = false;
  for (std::size_t at = 0; at < stream.size(); at += options.chunk) {
    const std::size_t chunk_length = std::min(options.chunk, stream.size() - at);
    std::span<const std::uint8_t> input(stream.data() + at, chunk_length);
    while (true) {
      flume::Frame frame{};
      flume::DecodeStatus status = decoder.next(input, frame);
      offset = at + (chunk_length - input.size());
      if (status == flume::DecodeStatus::need_more) break;
      if (status == flume::DecodeStatus::frame) {
        inspector.print(frame, frame_start);
      } else if (decoder.error() == flume::FrameError::invalid_subject) {
        std::cout << "#" << ++inspector.frames << " @" << frame_start << " "
                  << flume::frame_type_name(frame.type)
                  << " REFUSED: " << flume::describe(decoder.error()) << " (\"" << frame.subject
                  << "\"); decoding goes on\n";
        malformed = true;
      } else {
        std::cout << "malformed input in the frame starting at byte " << frame_start << ": "
                  << flume::describe(decoder.error()) << "\n";
        return 1;
      }
      frame_start = offset;
      if (input.empty()) break;
    }
  }
  if (flume::FrameError end = decoder.finish(); end != flume::FrameError::ok) {
    std::cout << "malformed input in the frame starting at byte " << frame_start << ": "
              << flume::describe(end) << "\n";
    return 1;
  }
  std::cout << inspector.frames << " frames, " << stream.size() << " bytes, "
            << inspector.patterns.size() << " subscriptions\n";
  // The demo's refused frame is part of the show; in real input it is a failure.
  return malformed && !options.demo ? 1 : 0;
}
