// The summary's JSON writer: escaping, nesting, and null for non-finite numbers.
#include <olsgd/io/json.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

TEST(json, escapes_nests_and_writes_null_for_non_finite_numbers) {
  std::ostringstream os;
  olsgd::io::JsonWriter j(os);
  j.begin_object()
      .value("s", "a\"b\\c\nd\x01")
      .value("nan", std::nan(""))
      .value("inf", HUGE_VAL)
      .value("-inf", -HUGE_VAL)
      .value("x", 0.1)
      .value("n", std::int64_t{-3})
      .value("t", true);
  j.begin_array("list").value("", "u").value("", 2.5).end_array();
  j.begin_object("empty").end_object();
  j.end_object();
  const std::string out = os.str();
  EXPECT_NE(out.find(R"("s": "a\"b\\c\nd\u0001")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("nan": null)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("inf": null)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("-inf": null)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("t": true)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("x": 0.10000000000000001)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("n": -3)"), std::string::npos) << out;
  EXPECT_NE(out.find("\"list\": [\n    \"u\",\n    2.5\n  ]"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("empty": {})"), std::string::npos) << out;
  EXPECT_EQ(out.front(), '{');
  EXPECT_EQ(out.substr(out.size() - 2), "}\n");
}
