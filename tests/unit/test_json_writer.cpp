#include <gatrec/core/json_writer.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace test_json_writer {
namespace {

using gatrec::json_string;

TEST(JsonString, PlainAsciiIsQuoted) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("Toy Story (1995)"), "\"Toy Story (1995)\"");
  EXPECT_EQ(json_string("a/b"), "\"a/b\"");  // '/' may stay as is
}

TEST(JsonString, QuotesBackslashesAndShortEscapes) {
  EXPECT_EQ(json_string("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(json_string("C:\\dir"), "\"C:\\\\dir\"");
  EXPECT_EQ(json_string("a\nb\r\nc\td"), "\"a\\nb\\r\\nc\\td\"");
  EXPECT_EQ(json_string("\b\f"), "\"\\b\\f\"");
}

TEST(JsonString, OtherControlCharactersAsUnicodeEscapes) {
  EXPECT_EQ(json_string(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(json_string("\x01\x1f"), "\"\\u0001\\u001f\"");
  EXPECT_EQ(json_string("\x0b"), "\"\\u000b\"");
  // DEL is not a control character for JSON.
  EXPECT_EQ(json_string("\x7f"), "\"\x7f\"");
}

TEST(JsonString, Utf8PassesThrough) {
  // 2, 3 and 4-byte sequences: é, ’, ‐, 😀, and U+2028 which JSON allows raw.
  const std::string text = "caf\xc3\xa9 children\xe2\x80\x99s \xf0\x9f\x98\x80 \xe2\x80\xa8";
  EXPECT_EQ(json_string(text), "\"" + text + "\"");
  // The largest code point.
  EXPECT_EQ(json_string("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");
}

TEST(JsonString, InvalidUtf8IsRefusedWithItsOffset) {
  const char* invalid[] = {
      "\xe9t\xe9",          // latin-1
      "ab\xc3",             // truncated 2-byte sequence
      "\xe2\x80",           // truncated 3-byte sequence
      "\xc0\xaf",           // overlong '/'
      "\xe0\x80\xaf",       // overlong 3-byte
      "\xed\xa0\x80",       // UTF-16 surrogate
      "\xf4\x90\x80\x80",   // past U+10FFFF
      "\x80",               // lone continuation byte
      "\xff",
  };
  for (const char* s : invalid) {
    SCOPED_TRACE(testing::PrintToString(std::string(s)));
    EXPECT_THROW(json_string(s), gatrec::logic_error);
  }
  try {
    json_string("ab\xc3");
  } catch (const gatrec::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("byte 2"), std::string::npos) << e.what();
  }
}

TEST(JsonObject, MembersInOrder) {
  gatrec::json_object o;
  o.add("kind", "item").add("id", "1").add("text", "# T\n\"q\"");
  EXPECT_EQ(o.str(), "{\"kind\":\"item\",\"id\":\"1\",\"text\":\"# T\\n\\\"q\\\"\"}");
  EXPECT_EQ(gatrec::json_object().str(), "{}");
  gatrec::json_object n;
  n.add("n", std::int64_t{-42}).add("x", 0.1).add("b", true).add("i", 7).add_raw("a", "[1,2]");
  EXPECT_EQ(n.str(), "{\"n\":-42,\"x\":0.10000000000000001,\"b\":true,\"i\":7,\"a\":[1,2]}");
  EXPECT_THROW(gatrec::json_object().add("x", std::numeric_limits<double>::quiet_NaN()), gatrec::logic_error);
}

}  // namespace

}  // namespace test_json_writer
