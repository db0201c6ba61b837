// KmsgRecord parsing and KmsgWatch, with a regular file standing in for
// /dev/kmsg (the watch splits a file's reads into lines).
#include "guest/scheduler/kmsg.hpp"

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/guest/fake_tree.hpp"

namespace kstep::guest {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempTree;

TEST(KmsgRecord, ParsesTheTimestampAndTextAndDropsContinuationLines) {
  const auto record = parse_kmsg_record(
      "3,1234,5678901,-;sched_ext: BPF scheduler \"kstep\" disabled (runnable task stall)\n"
      " SUBSYSTEM=cpu\n DEVICE=+cpu:0\n");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->timestamp_us, 5678901U);
  EXPECT_EQ(record->text, "sched_ext: BPF scheduler \"kstep\" disabled (runnable task stall)");
}

TEST(KmsgRecord, AcceptsFieldsAfterTheFlagsAndSemicolonsInTheText) {
  const auto record = parse_kmsg_record("6,17,42,-,caller=T1;a;b");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->timestamp_us, 42U);
  EXPECT_EQ(record->text, "a;b");
}

TEST(KmsgRecord, AcceptsATimestampWithoutFlags) {
  const auto record = parse_kmsg_record("6,17,42;text");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->timestamp_us, 42U);
  EXPECT_EQ(record->text, "text");
}

TEST(KmsgRecord, RejectsMalformedRecords) {
  EXPECT_FALSE(parse_kmsg_record("").has_value());
  EXPECT_FALSE(parse_kmsg_record("no prefix at all").has_value());
  EXPECT_FALSE(parse_kmsg_record("6,17;too few fields").has_value());
  EXPECT_FALSE(parse_kmsg_record("6,17,abc,-;not a number").has_value());
  EXPECT_FALSE(parse_kmsg_record("6,17,,-;empty timestamp").has_value());
  EXPECT_FALSE(parse_kmsg_record("6,17,12x,-;trailing junk").has_value());
}

class KmsgWatchTest : public ::testing::Test {
 protected:
  void append(const std::string& text) const {
    std::ofstream out{kmsg_, std::ios::app | std::ios::binary};
    out << text;
    ASSERT_TRUE(out.good());
  }

  TempTree tree_;
  std::filesystem::path kmsg_ = tree_.root() / "kmsg";
};

TEST_F(KmsgWatchTest, SeesOnlyRecordsLoggedAfterItOpened) {
  append("6,1,100,-;before the watch\n");
  auto watch = KmsgWatch::open(kmsg_);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  EXPECT_THAT(watch->drain(), IsEmpty());

  append("6,2,200,-;first\n SUBSYSTEM=x\n6,3,300,-;second\n");
  const auto records = watch->drain();
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].timestamp_us, 200U);
  EXPECT_EQ(records[0].text, "first");
  EXPECT_EQ(records[1].timestamp_us, 300U);
  EXPECT_EQ(records[1].text, "second");
}

TEST_F(KmsgWatchTest, EachDrainReturnsOnlyWhatIsNew) {
  append("");
  auto watch = KmsgWatch::open(kmsg_);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  append("6,1,1,-;one\n");
  ASSERT_EQ(watch->drain().size(), 1U);
  EXPECT_THAT(watch->drain(), IsEmpty());
  append("6,2,2,-;two\n");
  const auto records = watch->drain();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].text, "two");
}

TEST_F(KmsgWatchTest, SkipsLinesThatAreNotRecords) {
  append("");
  auto watch = KmsgWatch::open(kmsg_);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  append("garbage\n\n6,1,1,-;kept\n");
  const auto records = watch->drain();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_EQ(records[0].text, "kept");
}

TEST_F(KmsgWatchTest, OpeningAMissingFileNamesIt) {
  auto watch = KmsgWatch::open(tree_.root() / "missing");
  ASSERT_FALSE(watch.ok());
  EXPECT_THAT(watch.error().message, HasSubstr("missing"));
  EXPECT_THAT(watch.error().message, HasSubstr("No such file or directory"));
}

}  // namespace
}  // namespace kstep::guest
