// The reorder window on its own, with a clock the test moves: messages from an origin are
// delivered in its numbering, held across a gap until it fills or the window's time or byte
// bound gives it up (the missing numbers counted lost), and never delivered backwards.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "overlay/reorder_window.hpp"

namespace flume::overlay {
namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kOrigin = 0xa;
constexpr std::uint8_t kClass = 3;

class ReorderWindowTest : public ::testing::Test {
 protected:
  ReorderWindow make(std::size_t max_bytes = 1 << 20) {
    return ReorderWindow(
        [this](std::string_view subject, const SharedBuffer &) { delivered.emplace_back(subject); },
        ReorderWindow::Limits{150 * kMs, max_bytes, 16});
  }
  // A "frame" of `size` bytes; the subject names the number, so the order can be read back.
  static SharedBuffer frame(std::size_t size = 10) {
    SharedBuffer out = SharedBuffer::allocate(size);
    return out;
  }
  static std::string n(std::uint64_t sequence) { return "m." + std::to_string(sequence); }
  ReorderWindow::Verdict offer(ReorderWindow &window, std::uint64_t sequence, std::uint64_t now,
                               std::uint64_t epoch = 1, std::size_t size = 10) {
    return window.offer(kOrigin, kClass, epoch, sequence, n(sequence), frame(size), now);
  }
  std::vector<std::string> names(std::initializer_list<std::uint64_t> numbers) {
    std::vector<std::string> out;
    for (std::uint64_t number : numbers)
      out.push_back(n(number));
    return out;
  }

  std::vector<std::string> delivered;
};

TEST_F(ReorderWindowTest, InOrderMessagesGoStraightThrough) {
  ReorderWindow window = make();
  for (std::uint64_t i = 0; i < 5; ++i)
    EXPECT_EQ(offer(window, i, 0), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 1, 2, 3, 4}));
  EXPECT_EQ(window.held_messages(), 0u);
  EXPECT_FALSE(window.next_deadline());
  EXPECT_EQ(window.lost(), 0u);
  EXPECT_EQ(window.reordered(), 0u);
}

TEST_F(ReorderWindowTest, AGapThatFillsInTimeDeliversEverythingInOrder) {
  ReorderWindow window = make();
  EXPECT_EQ(offer(window, 0, 0), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(offer(window, 3, 1 * kMs), ReorderWindow::Verdict::held);
  EXPECT_EQ(offer(window, 2, 2 * kMs), ReorderWindow::Verdict::held);
  EXPECT_EQ(window.next_deadline(), 151 * kMs);
  window.expire(100 * kMs);  // not due yet
  EXPECT_EQ(delivered, names({0}));
  EXPECT_EQ(offer(window, 1, 120 * kMs), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 1, 2, 3}));
  EXPECT_EQ(window.reordered(), 2u);
  EXPECT_EQ(window.lost(), 0u);
  EXPECT_EQ(window.held_bytes(), 0u);
}

TEST_F(ReorderWindowTest, AGapGivenUpAtTheLimitIsCountedAndItsLateMessageDropped) {
  ReorderWindow window = make();
  offer(window, 0, 0);
  EXPECT_EQ(offer(window, 3, 10 * kMs), ReorderWindow::Verdict::held);
  EXPECT_EQ(offer(window, 4, 20 * kMs), ReorderWindow::Verdict::held);
  window.expire(159 * kMs);
  EXPECT_EQ(delivered, names({0}));
  window.expire(160 * kMs);  // 3 has waited 150 ms: 1 and 2 are given up
  EXPECT_EQ(delivered, names({0, 3, 4}));
  EXPECT_EQ(window.lost(), 2u);
  EXPECT_EQ(window.gaps_given_up(), 1u);
  // 2 turns up after all: the subscriber saw 3 already, so it is dropped, counted late.
  EXPECT_EQ(offer(window, 2, 170 * kMs), ReorderWindow::Verdict::late);
  EXPECT_EQ(window.late(), 1u);
  EXPECT_EQ(offer(window, 5, 171 * kMs), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 3, 4, 5}));
}

TEST_F(ReorderWindowTest, NoMessageWaitsLongerThanTheWindowWhateverArrivedFirst) {
  ReorderWindow window = make();
  offer(window, 0, 0);
  offer(window, 5, 10 * kMs);  // arrived first
  offer(window, 2, 100 * kMs);
  window.expire(160 * kMs);  // 5 is due: the gaps below it (1, 3, 4) are given up
  EXPECT_EQ(delivered, names({0, 2, 5}));
  EXPECT_EQ(window.lost(), 3u);
  EXPECT_FALSE(window.next_deadline());
}

TEST_F(ReorderWindowTest, AGapInOneOrderClassHoldsBackNoOtherClass) {
  ReorderWindow window = make();
  offer(window, 0, 0);
  EXPECT_EQ(offer(window, 2, 1 * kMs), ReorderWindow::Verdict::held);  // class 3 waits for 1
  // The same origin's numbering in class 4 is its own: 0 and 1 go straight through.
  EXPECT_EQ(window.offer(kOrigin, kClass + 1, 1, 0, "x.0", frame(), 2 * kMs),
            ReorderWindow::Verdict::delivered);
  EXPECT_EQ(window.offer(kOrigin, kClass + 1, 1, 1, "x.1", frame(), 3 * kMs),
            ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, (std::vector<std::string>{"m.0", "x.0", "x.1"}));
  EXPECT_EQ(window.held_messages(), 1u);
}

TEST_F(ReorderWindowTest, DuplicatesOfHeldMessagesAreRefused) {
  ReorderWindow window = make();
  offer(window, 0, 0);
  EXPECT_EQ(offer(window, 2, 1 * kMs), ReorderWindow::Verdict::held);
  EXPECT_EQ(offer(window, 2, 2 * kMs), ReorderWindow::Verdict::duplicate);
  EXPECT_EQ(offer(window, 1, 3 * kMs), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 1, 2}));
  EXPECT_EQ(offer(window, 1, 4 * kMs), ReorderWindow::Verdict::late);  // below: never twice
  EXPECT_EQ(delivered.size(), 3u);
}

TEST_F(ReorderWindowTest, ANewEpochFlushesTheOldNumberingAndStartsAgain) {
  ReorderWindow window = make();
  offer(window, 0, 0);
  offer(window, 2, 1 * kMs);  // 1 missing
  EXPECT_EQ(offer(window, 0, 2 * kMs, 2), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 2, 0}));
  EXPECT_EQ(window.lost(), 1u);
  EXPECT_EQ(offer(window, 1, 3 * kMs, 2), ReorderWindow::Verdict::delivered);
  // A straggler from the earlier start: not delivered, and the new numbering goes on.
  EXPECT_EQ(offer(window, 3, 4 * kMs, 1), ReorderWindow::Verdict::late);
  EXPECT_EQ(offer(window, 2, 5 * kMs, 2), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 2, 0, 1, 2}));
}

TEST_F(ReorderWindowTest, AFirstMessageThatIsNotNumberZeroWaitsAndItsGapIsNotCounted) {
  ReorderWindow window = make();
  // Number 0 overtaken at the start: it still arrives in time and comes first.
  EXPECT_EQ(offer(window, 1, 0), ReorderWindow::Verdict::held);
  EXPECT_EQ(offer(window, 0, 1 * kMs), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(delivered, names({0, 1}));
  // Another origin heard from mid-way through its numbering (this node started later).
  delivered.clear();
  window.offer(0xb, kClass, 1, 40, "m.40", frame(), 0);
  window.offer(0xb, kClass, 1, 41, "m.41", frame(), 1 * kMs);
  window.expire(150 * kMs);
  EXPECT_EQ(delivered, names({40, 41}));
  EXPECT_EQ(window.lost(), 0u);
}

TEST_F(ReorderWindowTest, TheByteBoundGivesUpTheGapEarly) {
  ReorderWindow window = make(/*max_bytes=*/1000);
  offer(window, 0, 0);
  // 1 is missing; each held message counts 300 bytes and its 3-byte subject.
  EXPECT_EQ(offer(window, 2, 1 * kMs, 1, 300), ReorderWindow::Verdict::held);
  EXPECT_EQ(offer(window, 3, 1 * kMs, 1, 300), ReorderWindow::Verdict::held);
  EXPECT_EQ(offer(window, 4, 1 * kMs, 1, 300), ReorderWindow::Verdict::held);
  EXPECT_EQ(window.held_bytes(), 909u);
  EXPECT_EQ(offer(window, 5, 1 * kMs, 1, 300), ReorderWindow::Verdict::held);  // over: given up
  EXPECT_EQ(delivered, names({0, 2, 3, 4, 5}));
  EXPECT_EQ(window.lost(), 1u);
  EXPECT_EQ(window.given_up_for_bytes(), 1u);
  EXPECT_EQ(window.held_bytes(), 0u);
}

TEST_F(ReorderWindowTest, AWindowOfZeroNeverHoldsAndCountsWhatWasOvertaken) {
  ReorderWindow window(
      [this](std::string_view subject, const SharedBuffer &) { delivered.emplace_back(subject); },
      ReorderWindow::Limits{0, 1 << 20, 16});
  offer(window, 0, 0);
  EXPECT_EQ(offer(window, 2, 0), ReorderWindow::Verdict::delivered);
  EXPECT_EQ(offer(window, 1, 0), ReorderWindow::Verdict::late);
  EXPECT_EQ(delivered, names({0, 2}));
  EXPECT_EQ(window.lost(), 1u);
  EXPECT_EQ(window.held_messages(), 0u);
}

TEST_F(ReorderWindowTest, TooManyOriginsFlushEveryoneInsteadOfGrowing) {
  ReorderWindow window = make();
  for (std::uint64_t origin = 1; origin <= 16; ++origin) {
    window.offer(origin, kClass, 1, 0, "m.0", frame(), 0);
    window.offer(origin, kClass, 1, 2, "m.2", frame(), 0);  // each holds one message
  }
  EXPECT_EQ(window.streams(), 16u);
  EXPECT_EQ(window.held_messages(), 16u);
  window.offer(17, kClass, 1, 0, "m.0", frame(), 0);
  EXPECT_EQ(window.streams(), 1u);
  EXPECT_EQ(window.held_messages(), 0u);
  EXPECT_EQ(window.lost(), 16u);  // each flushed origin's missing 1
}

}  // namespace
}  // namespace flume::overlay
