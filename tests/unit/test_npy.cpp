#include <gatrec/embeddings/npy.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "support/test_data.hpp"

namespace test_npy {
namespace {

using gatrec::matrix;
using gatrec::parse_error;

// The (2, 3) matrix every fixture holds, exactly representable in float32 except 1e-3.
matrix<double> reference() {
  matrix<double> m(2, 3);
  m << 1.5, -2.0, 3.25, 0.0, 1e-3, -7.0;
  return m;
}

void append_le(std::string& out, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) out += static_cast<char>((v >> (8 * k)) & 0xFF);
}

/// A hand-made .npy file: any version, any header text, any payload. The header is padded to a
/// multiple of 16 and ended by "\n" unless `raw_header` asks for the text to be used as is.
std::string make_npy(int major, const std::string& dict, const std::string& payload, bool raw_header = false) {
  std::string header = dict;
  const std::size_t prefix = 6 + 2 + (major == 1 ? 2 : 4);
  if (!raw_header) {
    while ((prefix + header.size() + 1) % 16 != 0) header += ' ';
    header += '\n';
  }
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  append_le(out, header.size(), major == 1 ? 2 : 4);
  return out + header + payload;
}

std::string f4_payload(const std::vector<float>& values) {
  std::string out;
  for (float v : values) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    append_le(out, bits, 4);
  }
  return out;
}

std::string f8_payload(const std::vector<double>& values) {
  std::string out;
  for (double v : values) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    append_le(out, bits, 8);
  }
  return out;
}

std::string dict(const std::string& descr, bool fortran, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
         ", }";
}

// Expects a parse_error in `field` whose message contains `needle`.
template <class F>
void expect_parse_error(F&& f, const std::string& field, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected a parse error in field '" << field << "'";
  } catch (const parse_error& e) {
    EXPECT_EQ(e.field(), field) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("t.npy"), std::string::npos) << "file not named: " << e.what();
  }
}

TEST(Npy, ReadsHandWrittenVersions1To3InBothOrdersAndTypes) {
  const matrix<double> ref = reference();
  const std::vector<float> c32 = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};
  const std::vector<float> f32 = {1.5f, 0.0f, -2.0f, 1e-3f, 3.25f, -7.0f};  // column by column
  const std::vector<double> c64 = {1.5, -2.0, 3.25, 0.0, 1e-3, -7.0};
  const std::vector<double> f64 = {1.5, 0.0, -2.0, 1e-3, 3.25, -7.0};
  for (int major = 1; major <= 3; ++major) {
    SCOPED_TRACE("version " + std::to_string(major));
    const auto a = gatrec::parse_npy<double>(make_npy(major, dict("<f4", false, "(2, 3)"), f4_payload(c32)), "t.npy");
    const auto b = gatrec::parse_npy<double>(make_npy(major, dict("<f4", true, "(2, 3)"), f4_payload(f32)), "t.npy");
    const auto c = gatrec::parse_npy<double>(make_npy(major, dict("<f8", false, "(2, 3)"), f8_payload(c64)), "t.npy");
    const auto d = gatrec::parse_npy<double>(make_npy(major, dict("<f8", true, "(2, 3)"), f8_payload(f64)), "t.npy");
    EXPECT_TRUE(a.isApprox(ref, 1e-7));
    EXPECT_TRUE(b.isApprox(ref, 1e-7));
    EXPECT_EQ(c, ref);
    EXPECT_EQ(d, ref);
    const auto h = gatrec::parse_npy_header(make_npy(major, dict("<f8", true, "(2, 3)"), f8_payload(f64)), "t.npy");
    EXPECT_EQ(h.major_version, major);
    EXPECT_TRUE(h.fortran_order);
    EXPECT_EQ(h.dtype, gatrec::npy_dtype::float64);
    EXPECT_EQ(h.shape, (std::vector<std::size_t>{2, 3}));
  }
}

TEST(Npy, HeaderGrammarVariantsNumpyAccepts) {
  const std::string payload = f4_payload({1, 2, 3, 4, 5, 6});
  // Key order, double quotes, no trailing comma, "L" suffixes, native byte-order characters.
  for (const std::string& d : {std::string("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}"),
                               std::string("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}"),
                               std::string("{'descr':'<f4','fortran_order':False,'shape':(2L, 3L),}"),
                               std::string("{'descr': '=f4', 'fortran_order': False, 'shape': (2, 3,), }"),
                               std::string("{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3), }")}) {
    SCOPED_TRACE(d);
    const auto m = gatrec::parse_npy<float>(make_npy(1, d, payload), "t.npy");
    ASSERT_EQ(m.rows(), 2);
    ASSERT_EQ(m.cols(), 3);
    EXPECT_EQ(m(1, 2), 6.0f);
  }
}

TEST(Npy, OneDimensionalArrayIsAColumn) {
  const auto m = gatrec::parse_npy<float>(make_npy(1, dict("<f4", false, "(3,)"), f4_payload({1, 2, 3})), "t.npy");
  ASSERT_EQ(m.rows(), 3);
  ASSERT_EQ(m.cols(), 1);
  EXPECT_EQ(m(2, 0), 3.0f);
  // fortran_order means nothing for 1-d data.
  const auto f = gatrec::parse_npy<float>(make_npy(1, dict("<f4", true, "(3,)"), f4_payload({1, 2, 3})), "t.npy");
  EXPECT_EQ(f, m);
}

TEST(Npy, EmptyShapes) {
  const auto m = gatrec::parse_npy<float>(make_npy(1, dict("<f4", false, "(0, 384)"), ""), "t.npy");
  EXPECT_EQ(m.rows(), 0);
  EXPECT_EQ(m.cols(), 384);
}

TEST(Npy, WriteReadRoundTripAndAlignment) {
  matrix<float> m(3, 5);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) m(r, c) = static_cast<float>(r * 10 + c) * 0.125f - 1.0f;
  const std::string bytes = gatrec::to_npy_bytes(m);
  const auto h = gatrec::parse_npy_header(bytes, "t.npy");
  EXPECT_EQ(h.data_offset % 64, 0u);
  EXPECT_EQ(h.major_version, 1);
  EXPECT_FALSE(h.fortran_order);
  EXPECT_EQ(gatrec::parse_npy<float>(bytes, "t.npy"), m);

  const auto dir = std::filesystem::temp_directory_path() / ("gatrec_npy_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  gatrec::write_npy(dir / "m.npy", m);
  EXPECT_EQ(gatrec::read_npy<float>(dir / "m.npy"), m);
  EXPECT_FALSE(std::filesystem::exists(dir / "m.npy.tmp"));
  std::filesystem::remove_all(dir);
}

TEST(Npy, MissingFileIsAnIoError) {
  EXPECT_THROW(gatrec::read_npy<float>("/nonexistent/x.npy"), gatrec::io_error);
}

TEST(Npy, MalformedMagicVersionAndLength) {
  const std::string good = make_npy(1, dict("<f4", false, "(2, 3)"), f4_payload({1, 2, 3, 4, 5, 6}));
  expect_parse_error([&] { gatrec::parse_npy_header("", "t.npy"); }, "magic", "not a NumPy");
  expect_parse_error([&] { gatrec::parse_npy_header("PK\x03\x04zipfile", "t.npy"); }, "magic", "not a NumPy");
  std::string bad_magic = good;
  bad_magic[1] = 'n';
  expect_parse_error([&] { gatrec::parse_npy_header(bad_magic, "t.npy"); }, "magic", "not a NumPy");
  expect_parse_error([&] { gatrec::parse_npy_header(good.substr(0, 7), "t.npy"); }, "version", "ends");
  std::string v4 = good;
  v4[6] = 4;
  expect_parse_error([&] { gatrec::parse_npy_header(v4, "t.npy"); }, "version", "4.0");
  std::string minor = good;
  minor[7] = 1;
  expect_parse_error([&] { gatrec::parse_npy_header(minor, "t.npy"); }, "version", "1.1");
  expect_parse_error([&] { gatrec::parse_npy_header(good.substr(0, 9), "t.npy"); }, "header_len", "ends");
  // Header cut off: the length field promises more than the file holds.
  expect_parse_error([&] { gatrec::parse_npy_header(good.substr(0, 40), "t.npy"); }, "header_len", "past the end");
  // A version-2 file must have a 4-byte length: reading it with a 2-byte one goes wrong visibly.
  std::string v2_as_v1 = make_npy(2, dict("<f4", false, "(2, 3)"), f4_payload({1, 2, 3, 4, 5, 6}));
  v2_as_v1[6] = 1;
  EXPECT_THROW(gatrec::parse_npy_header(v2_as_v1, "t.npy"), parse_error);
}

TEST(Npy, MalformedHeaderDict) {
  const std::string p = f4_payload({1, 2, 3, 4, 5, 6});
  const auto header = [&](const std::string& d) { return [d, &p] { gatrec::parse_npy_header(make_npy(1, d, p), "t.npy"); }; };
  expect_parse_error(header(""), "header", "expected '{'");
  expect_parse_error(header("['descr']"), "header", "expected '{'");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)"), "header", "'}'");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x"), "header", "after the header");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False}"), "shape", "missing");
  expect_parse_error(header("{'shape': (2, 3), 'fortran_order': False}"), "descr", "missing");
  expect_parse_error(header("{'descr': '<f4', 'shape': (2, 3)}"), "fortran_order", "missing");
  expect_parse_error(header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}"), "descr",
                     "twice");
  expect_parse_error(header(dict("<f4", false, "(2, 3)") + "{"), "header", "after the header");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}"), "header",
                     "unexpected key 'extra'");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}"), "fortran_order", "True or False");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3)}"), "fortran_order",
                     "True or False");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}"), "shape", "'('");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}"), "shape", "non-negative");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}"), "shape", "(n,)");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}"), "shape", "')'");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': ()}"), "shape", "0-d");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3)}"), "shape", "3-d");
  expect_parse_error(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 3)}"), "shape",
                     "too large");
  expect_parse_error(header("{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}"), "descr", "unsupported dtype");
  expect_parse_error(header("{'descr': '<f\xe9', 'fortran_order': False, 'shape': (2, 3)}"), "header", "non-ASCII");
}

TEST(Npy, WrongDtypes) {
  const std::string p = f4_payload({1, 2, 3, 4, 5, 6});
  const auto with = [&](const std::string& descr) {
    return [descr, &p] { gatrec::parse_npy_header(make_npy(1, dict(descr, false, "(2, 3)"), p), "t.npy"); };
  };
  expect_parse_error(with(">f4"), "descr", "big-endian");
  expect_parse_error(with(">f8"), "descr", "big-endian");
  expect_parse_error(with("<i4"), "descr", "unsupported dtype '<i4'");
  expect_parse_error(with("<f2"), "descr", "unsupported dtype");
  expect_parse_error(with("<c8"), "descr", "unsupported dtype");
  expect_parse_error(with("float32"), "descr", "unsupported dtype");
  expect_parse_error(with("|O"), "descr", "unsupported dtype");
  expect_parse_error(with("!f4"), "descr", "byte-order");
  expect_parse_error(
      [&] {
        gatrec::parse_npy_header(
            make_npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", p), "t.npy");
      },
      "descr", "structured");
}

TEST(Npy, ShapeAndSizeMustAgree) {
  const std::string d = dict("<f4", false, "(2, 3)");
  expect_parse_error([&] { gatrec::parse_npy_header(make_npy(1, d, f4_payload({1, 2, 3, 4, 5})), "t.npy"); }, "data",
                     "truncated");
  expect_parse_error([&] { gatrec::parse_npy_header(make_npy(1, d, f4_payload({1, 2, 3, 4, 5, 6, 7})), "t.npy"); },
                     "data", "after the data");
  // Truncated mid-value.
  expect_parse_error(
      [&] { gatrec::parse_npy_header(make_npy(1, d, f4_payload({1, 2, 3, 4, 5, 6}).substr(0, 22)), "t.npy"); }, "data",
      "needs 24 bytes, the file has 22");
  // f8 data declared as f4: twice as many bytes as the shape needs.
  expect_parse_error([&] { gatrec::parse_npy_header(make_npy(1, d, f8_payload({1, 2, 3, 4, 5, 6})), "t.npy"); },
                     "data", "after the data");
}

TEST(Npy, NanAndInfNameRowAndColumn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  expect_parse_error(
      [&] { gatrec::parse_npy<float>(make_npy(1, dict("<f4", false, "(2, 3)"), f4_payload({1, 2, 3, 4, nan, 6})), "t.npy"); },
      "data", "NaN at row 1, column 1");
  expect_parse_error(
      [&] { gatrec::parse_npy<float>(make_npy(1, dict("<f4", false, "(2, 3)"), f4_payload({1, -inf, 3, 4, 5, 6})), "t.npy"); },
      "data", "infinite value at row 0, column 1");
  // Fortran order: the third stored value is (row 0, column 1).
  expect_parse_error(
      [&] { gatrec::parse_npy<float>(make_npy(1, dict("<f4", true, "(2, 3)"), f4_payload({1, 2, inf, 4, 5, 6})), "t.npy"); },
      "data", "row 0, column 1");
  // A finite double beyond float's range cannot become a float feature.
  expect_parse_error(
      [&] { gatrec::parse_npy<float>(make_npy(1, dict("<f8", false, "(1, 2)"), f8_payload({1.0, 1e300})), "t.npy"); },
      "data", "out of float range at row 0, column 1");
  EXPECT_EQ(gatrec::parse_npy<double>(make_npy(1, dict("<f8", false, "(1, 2)"), f8_payload({1.0, 1e300})), "t.npy")(0, 1),
            1e300);
}

// Files written by numpy itself (see tests/fixtures/npy/README.md).
TEST(NpyNumpyFixtures, ReadsWhatNumpyWrites) {
  const auto dir = gatrec::test::fixtures() / "npy";
  const matrix<double> ref = reference();
  for (const char* name : {"f4_c_2x3.npy", "f4_fortran_2x3.npy", "f4_c_2x3_v2.npy", "f4_c_2x3_v3.npy"}) {
    SCOPED_TRACE(name);
    const auto m = gatrec::read_npy<float>(dir / name);
    EXPECT_TRUE(m.cast<double>().isApprox(ref, 1e-7));
  }
  for (const char* name : {"f8_c_2x3.npy", "f8_fortran_2x3.npy"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(gatrec::read_npy<double>(dir / name), ref);
  }
}

std::string slurp(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

TEST(NpyNumpyFixtures, HeadersOfEveryVersion) {
  const auto dir = gatrec::test::fixtures() / "npy";
  EXPECT_EQ(gatrec::parse_npy_header(slurp(dir / "f4_c_2x3.npy"), "f").major_version, 1);
  EXPECT_EQ(gatrec::parse_npy_header(slurp(dir / "f4_c_2x3_v2.npy"), "f").major_version, 2);
  EXPECT_EQ(gatrec::parse_npy_header(slurp(dir / "f4_c_2x3_v3.npy"), "f").major_version, 3);
  EXPECT_TRUE(gatrec::parse_npy_header(slurp(dir / "f8_fortran_2x3.npy"), "f").fortran_order);
}

TEST(NpyNumpyFixtures, OneDimensionalAndEmpty) {
  const auto dir = gatrec::test::fixtures() / "npy";
  const auto v = gatrec::read_npy<float>(dir / "f4_1d_4.npy");
  ASSERT_EQ(v.rows(), 4);
  ASSERT_EQ(v.cols(), 1);
  EXPECT_EQ(v(3, 0), 4.0f);
  const auto e = gatrec::read_npy<float>(dir / "f4_c_0x3.npy");
  EXPECT_EQ(e.rows(), 0);
  EXPECT_EQ(e.cols(), 3);
}

TEST(NpyNumpyFixtures, RejectsWhatItCannotRead) {
  const auto dir = gatrec::test::fixtures() / "npy";
  const auto field_of = [&](const char* name) {
    try {
      gatrec::read_npy<float>(dir / name);
    } catch (const parse_error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      return e.field() + ": " + e.what();
    }
    return std::string("no error");
  };
  EXPECT_NE(field_of("f4_big_endian.npy").find("descr: "), std::string::npos);
  EXPECT_NE(field_of("f4_big_endian.npy").find("big-endian"), std::string::npos);
  EXPECT_NE(field_of("i4_c_2x3.npy").find("descr: "), std::string::npos);
  EXPECT_NE(field_of("f4_3d.npy").find("shape: "), std::string::npos);
  EXPECT_NE(field_of("f4_nan_at_1_2.npy").find("NaN at row 1, column 2"), std::string::npos);
}

}  // namespace

}  // namespace test_npy
