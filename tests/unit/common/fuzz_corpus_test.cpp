// The seed corpus of frame-decoder-fuzz (tests/fuzz/corpus/) holds small
// valid streams in the fuzzer's input layout. This test keeps them valid;
// with KSTEP_WRITE_FUZZ_CORPUS=1 in the environment it (re)writes them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/message_codec.hpp"
#include "kstep.pb.h"
#include "tests/fuzz/fuzz_input.hpp"
#include "tests/unit/common/codec_test_util.hpp"

namespace kstep {
namespace {

const std::filesystem::path kCorpusDir =
    std::filesystem::path(KSTEP_TEST_DATA_DIR).parent_path() / "fuzz" / "corpus";

std::map<std::string, std::string> seeds() {
  using test::encode;
  const std::vector<std::size_t> one_byte = {1};
  const std::vector<std::size_t> odd = {3, 17, 250};
  const std::vector<std::size_t> header_split = {4, 12};
  return {
      {"hello", fuzz::make_input({}, false, 0, encode(test::make_hello()))},
      {"mixed-bytewise",
       fuzz::make_input(one_byte, false, 0,
                        encode(test::make_log("boot ok")) + encode(test::make_heartbeat(1000)) +
                            encode(test::make_fatal("no cgroup2")))},
      {"zero-copy", fuzz::make_input(odd, true, 0,
                                     encode(test::make_heartbeat(1)) + encode(test::make_heartbeat(2)) +
                                         encode(test::make_log(std::string(60, 'z'), wire::Log::ERROR)))},
      {"small-cap",
       fuzz::make_input(header_split, false, 3,
                        encode(test::make_log(std::string(50, 'c'))) + encode(test::make_heartbeat(3)))},
  };
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(CodecFuzzCorpus, SeedsAreValidStreams) {
  const char* write = std::getenv("KSTEP_WRITE_FUZZ_CORPUS");
  if (write != nullptr && std::string_view(write) == "1") {
    std::filesystem::create_directories(kCorpusDir);
    for (const auto& [name, bytes] : seeds()) {
      std::ofstream(kCorpusDir / name, std::ios::binary) << bytes;
    }
  }
  ASSERT_TRUE(std::filesystem::is_directory(kCorpusDir))
      << kCorpusDir << " is missing; run with KSTEP_WRITE_FUZZ_CORPUS=1 to write it";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kCorpusDir)) {
    SCOPED_TRACE(entry.path().string());
    const std::string input = read_file(entry.path());
    EXPECT_LT(input.size(), 1024U);
    const auto plan = fuzz::parse_plan(test::bytes_of(input));
    MessageDecoder<wire::GuestMessage> decoder(plan.max_payload);
    decoder.feed(plan.stream);
    test::Drained<wire::GuestMessage> drained;
    test::drain_into(decoder, drained);
    EXPECT_FALSE(drained.error) << drained.error->describe();
    EXPECT_FALSE(drained.messages.empty());
    EXPECT_TRUE(decoder.finish().ok());
    ++files;
  }
  EXPECT_GE(files, seeds().size());
}

TEST(CodecFuzzCorpus, PlanLayoutRoundTrips) {
  const std::vector<std::size_t> sizes = {1, 256, 9};
  const std::string input = fuzz::make_input(sizes, true, 5, "stream");
  const auto plan = fuzz::parse_plan(test::bytes_of(input));
  EXPECT_EQ(plan.chunk_sizes, sizes);
  EXPECT_TRUE(plan.zero_copy);
  EXPECT_EQ(plan.max_payload, 16U << 5U);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(plan.stream.data()), plan.stream.size()), "stream");

  const auto empty = fuzz::parse_plan({});
  EXPECT_TRUE(empty.chunk_sizes.empty());
  EXPECT_TRUE(empty.stream.empty());
  EXPECT_EQ(empty.max_payload, kMaxFramePayload);
}

}  // namespace
}  // namespace kstep
