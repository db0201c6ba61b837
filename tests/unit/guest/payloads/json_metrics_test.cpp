#include "guest/payloads/json_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kstep::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

TEST(PayloadJsonMetrics, TakesNumbersAndFlattensNestedObjects) {
  const auto metrics = parse_json_metrics(R"({"ops": 12.5, "x": {"y": 2, "z": {"w": -1}}, "s": "no"})"
                                          "\n");
  EXPECT_TRUE(metrics.found);
  EXPECT_THAT(metrics.values, ElementsAre(Pair("ops", 12.5), Pair("x.y", 2.0), Pair("x.z.w", -1.0)));
}

TEST(PayloadJsonMetrics, IgnoresStringsBoolsNullsAndArrays) {
  const auto metrics = parse_json_metrics(R"({"a": "1", "b": true, "c": null, "d": [1, 2], "e": 0})");
  EXPECT_TRUE(metrics.found);
  EXPECT_THAT(metrics.values, ElementsAre(Pair("e", 0.0)));
}

TEST(PayloadJsonMetrics, TheLastObjectLineWinsOverEarlierOnesAndTrailingText) {
  const auto metrics = parse_json_metrics(
      "starting\n"
      "{\"progress\": 1}\n"
      "  {\"ops\": 3}\r\n"
      "{not json at all}\n"
      "done, bye\n");
  EXPECT_TRUE(metrics.found);
  EXPECT_THAT(metrics.values, ElementsAre(Pair("ops", 3.0)));
}

TEST(PayloadJsonMetrics, AnObjectWithoutNumbersIsFoundButEmpty) {
  const auto metrics = parse_json_metrics("{\"status\": \"ok\"}");
  EXPECT_TRUE(metrics.found);
  EXPECT_THAT(metrics.values, IsEmpty());
}

TEST(PayloadJsonMetrics, NoObjectLineIsNotFound) {
  for (const char* text :
       {"", "\n\n", "hello\nworld\n", "[1, 2]\n", "{\"ops\": 1} trailing\n", "{\"ops\": }\n"}) {
    const auto metrics = parse_json_metrics(text);
    EXPECT_FALSE(metrics.found) << text;
    EXPECT_THAT(metrics.values, IsEmpty()) << text;
  }
}

TEST(PayloadJsonMetrics, APartialFirstLineIsNotConsidered) {
  // A tail cut inside `{"big": "....", "ops": 1}` could look like an object.
  EXPECT_FALSE(parse_json_metrics("{\"ops\": 1}\nplain\n", true).found);
  EXPECT_TRUE(parse_json_metrics("{\"ops\": 1}\nplain\n", false).found);
  EXPECT_THAT(parse_json_metrics("cut\n{\"ops\": 2}\n", true).values, ElementsAre(Pair("ops", 2.0)));
}

}  // namespace
}  // namespace kstep::guest
