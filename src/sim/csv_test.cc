// The trace CSV reader: field splitting (RFC 4180 quoting, trimming of unquoted fields), whole
// files (header, blank lines, line numbers) and ReadFile.
#include "sim/csv.h"
#include "test/support/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace kumo::sim {
namespace {

using ::kumo::testing::TempDir;

using Fields = std::vector<std::string>;

Fields MustSplit(std::string_view line) {
  auto r = SplitCsvLine(line);
  EXPECT_TRUE(r.has_value()) << "line: " << line << ": " << (r ? "" : r.error().message());
  return r ? *r : Fields{};
}

CsvTable MustParse(std::string_view text) {
  auto r = ParseCsv(text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
  return r ? *r : CsvTable{};
}

// ---------------------------------------------------------------------------------------------
// SplitCsvLine

TEST(CsvSplit, PlainFields) {
  EXPECT_EQ(MustSplit("a,b,c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(MustSplit("openb-pod-0001,6000,12288,1,460"),
            (Fields{"openb-pod-0001", "6000", "12288", "1", "460"}));
}

TEST(CsvSplit, EmptyFieldsAreKept) {
  // n commas -> n + 1 fields, also when they are empty (openb's empty gpu_spec / scheduled_time).
  EXPECT_EQ(MustSplit("a,,c"), (Fields{"a", "", "c"}));
  EXPECT_EQ(MustSplit("a,b,"), (Fields{"a", "b", ""}));
  EXPECT_EQ(MustSplit(","), (Fields{"", ""}));
  EXPECT_EQ(MustSplit(""), (Fields{""}));
}

TEST(CsvSplit, UnquotedFieldsAreTrimmed) {
  // Spaces, tabs and carriage returns around unquoted fields go (Philly's machine list has
  // "machineId, number of GPUs, single GPU mem"; CRLF files leave '\r' on the last field).
  EXPECT_EQ(MustSplit("  a , b\t,\tc  \r"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(MustSplit("machineId, number of GPUs, single GPU mem"),
            (Fields{"machineId", "number of GPUs", "single GPU mem"}));
  // Inner spaces stay.
  EXPECT_EQ(MustSplit("x y , z"), (Fields{"x y", "z"}));
  EXPECT_EQ(MustSplit("   ,  "), (Fields{"", ""}));
}

TEST(CsvSplit, QuotedFieldKeepsCommasAndSpaces) {
  EXPECT_EQ(MustSplit("\"a,b\",c"), (Fields{"a,b", "c"}));
  // Inside quotes nothing is trimmed.
  EXPECT_EQ(MustSplit("\" a \",b"), (Fields{" a ", "b"}));
  // A quote may follow leading blanks (they are dropped).
  EXPECT_EQ(MustSplit("x,  \"y\""), (Fields{"x", "y"}));
  // An empty quoted field.
  EXPECT_EQ(MustSplit("\"\",z"), (Fields{"", "z"}));
  // gpu_spec lists models with '|': quoting changes nothing.
  EXPECT_EQ(MustSplit("p,\"V100M16|V100M32\""), (Fields{"p", "V100M16|V100M32"}));
}

TEST(CsvSplit, DoubledQuoteIsALiteralQuote) {
  EXPECT_EQ(MustSplit("\"say \"\"hi\"\"\",x"), (Fields{"say \"hi\"", "x"}));
  EXPECT_EQ(MustSplit("\"\"\"\""), (Fields{"\""}));
}

TEST(CsvSplit, QuoteInsideUnquotedFieldIsLiteral) {
  // Only a quote at the start of a field opens quoting.
  EXPECT_EQ(MustSplit("ab\"c,d"), (Fields{"ab\"c", "d"}));
}

TEST(CsvSplit, UnterminatedQuoteFails) {
  for (std::string_view line : {"\"abc", "a,\"b", "a,\"b\"\"", "\"a,b,c"}) {
    auto r = SplitCsvLine(line);
    ASSERT_FALSE(r.has_value()) << line;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("unterminated"), std::string::npos) << r.error().message();
  }
}

TEST(CsvSplit, BlanksAfterClosingQuoteAreNotPartOfTheField) {
  // The header promises trimmed fields; blanks after a closing quote are outside the field.
  // Real case: a CRLF file whose last column is quoted leaves "\r" after the closing quote.
  EXPECT_EQ(MustSplit("\"a\" ,b"), (Fields{"a", "b"}));
  EXPECT_EQ(MustSplit("\"a\"\t ,\" b \"  "), (Fields{"a", " b "}));
  EXPECT_EQ(MustSplit("x,\"y\"\r"), (Fields{"x", "y"}));
}

TEST(CsvSplit, TextAfterClosingQuoteFails) {
  for (std::string_view line : {"\"a\"b,c", "x,\"y\" z", "\"a\" \"b\"", "\"a\"  b"}) {
    auto r = SplitCsvLine(line);
    ASSERT_FALSE(r.has_value()) << line;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("closing quote"), std::string::npos) << r.error().message();
  }
}

// ---------------------------------------------------------------------------------------------
// ParseCsv

TEST(CsvParse, HeaderRowsAndLineNumbers) {
  CsvTable t = MustParse("h1,h2\n1,2\n3,4\n");
  EXPECT_EQ(t.header, (Fields{"h1", "h2"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (Fields{"1", "2"}));
  EXPECT_EQ(t.rows[1], (Fields{"3", "4"}));
  EXPECT_EQ(t.line, (std::vector<int>{2, 3}));
}

TEST(CsvParse, BlankLinesAreSkippedButCounted) {
  // Lines: 1 blank, 2 header, 3 row, 4 blank, 5 whitespace only, 6 row, 7 "\r" only, 8 row.
  CsvTable t = MustParse("\nh1,h2\n1,2\n\n   \t\n3,4\n\r\n5,6");
  EXPECT_EQ(t.header, (Fields{"h1", "h2"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.line, (std::vector<int>{3, 6, 8}));
  EXPECT_EQ(t.rows[2], (Fields{"5", "6"}));  // the last line needs no newline
}

TEST(CsvParse, CrlfLineEndings) {
  CsvTable t = MustParse("a,b\r\n1,2\r\n");
  EXPECT_EQ(t.header, (Fields{"a", "b"}));
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], (Fields{"1", "2"}));
  EXPECT_EQ(t.line, (std::vector<int>{2}));
}

TEST(CsvParse, HeaderOnlyFileHasNoRows) {
  for (std::string_view text : {"a,b", "a,b\n", "a,b\n\n\n"}) {
    CsvTable t = MustParse(text);
    EXPECT_EQ(t.header, (Fields{"a", "b"}));
    EXPECT_TRUE(t.rows.empty());
    EXPECT_TRUE(t.line.empty());
  }
}

TEST(CsvParse, EmptyFileIsAnError) {
  for (std::string_view text : {"", "\n", "  \n\t\n\r\n"}) {
    auto r = ParseCsv(text);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("no header"), std::string::npos) << r.error().message();
  }
}

TEST(CsvParse, RowsWithOtherFieldCountsAreKept) {
  // The caller counts these as invalid rows with their line numbers.
  CsvTable t = MustParse("a,b,c\n1,2\n1,2,3\n1,2,3,4\n");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].size(), 2u);
  EXPECT_EQ(t.rows[1].size(), 3u);
  EXPECT_EQ(t.rows[2].size(), 4u);
  EXPECT_EQ(t.line, (std::vector<int>{2, 3, 4}));
}

TEST(CsvParse, UnterminatedQuoteNamesTheLine) {
  // Line 1 header, 2 fine, 3 blank, 4 broken.
  auto r = ParseCsv("a,b\n1,2\n\n\"x,3\n5,6\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("line 4"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("unterminated"), std::string::npos) << r.error().message();
  // In the header too.
  auto h = ParseCsv("\"a,b\n1,2\n");
  ASSERT_FALSE(h.has_value());
  EXPECT_NE(h.error().message().find("line 1"), std::string::npos) << h.error().message();
}

TEST(CsvParse, HeaderIsTrimmedAndColumnFindsIt) {
  CsvTable t = MustParse("machineId, number of GPUs, single GPU mem\nm0,2, 12GB\n");
  EXPECT_EQ(t.Column("machineId"), 0);
  EXPECT_EQ(t.Column("number of GPUs"), 1);
  EXPECT_EQ(t.Column("single GPU mem"), 2);
  EXPECT_EQ(t.Column(" number of GPUs"), -1);
  EXPECT_EQ(t.Column("missing"), -1);
  EXPECT_EQ(t.Column(""), -1);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], (Fields{"m0", "2", "12GB"}));
}

TEST(CsvParse, QuotedHeaderInCrlfFile) {
  // A CRLF file whose last header column is quoted: the column must still be found by name.
  CsvTable t = MustParse("a,\"b\"\r\n1,\"x\"\r\n");
  EXPECT_EQ(t.Column("b"), 1);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], (Fields{"1", "x"}));
}

// ---------------------------------------------------------------------------------------------
// ReadFile

TEST(CsvReadFile, ReadsBytesAndReportsMissingFiles) {
  TempDir dir;  // removed at the end of the test
  auto r = ReadFile(dir.Write("f.csv", "a,b\r\n1,2\n"));
  auto missing = ReadFile(dir.Path("nope.csv"));

  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(*r, "a,b\r\n1,2\n");  // unchanged, CR included
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope.csv"), std::string::npos)
      << missing.error().message();
}

}  // namespace
}  // namespace kumo::sim
