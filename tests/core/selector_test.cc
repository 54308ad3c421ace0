#include "core/selector.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace korc {
namespace {

using Op = LabelRequirement::Op;

LabelSelector MustParseLabels(std::string_view text) {
  Result<LabelSelector> s = LabelSelector::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? *s : LabelSelector();
}

FieldSelector MustParseFields(std::string_view text) {
  Result<FieldSelector> s = FieldSelector::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? *s : FieldSelector();
}

// A field getter over a flat map; fields not in the map are absent.
FieldSelector::FieldGetter Getter(std::map<std::string, std::string> fields) {
  return [fields = std::move(fields)](std::string_view field) -> std::optional<std::string> {
    auto it = fields.find(std::string(field));
    if (it == fields.end()) return std::nullopt;
    return it->second;
  };
}

// ---------------------------------------------------------------------------------------------
// Label selectors

struct LabelParseCase {
  std::string input;
  std::string canonical;
};

const std::vector<LabelParseCase> kValidLabelSelectors = {
    {"", ""},
    {"   ", ""},
    {"x=a", "x=a"},
    {"x==a", "x==a"},
    {"x!=a", "x!=a"},
    {"x=a,y=b", "x=a,y=b"},
    {"y=b,x=a", "x=a,y=b"},  // sorted by key
    {" x = a , y != b ", "x=a,y!=b"},
    {"\tx\n=\ra", "x=a"},
    {"x in (a,b)", "x in (a,b)"},
    {"x in (b,a,b)", "x in (a,b)"},  // a set: sorted, no duplicates
    {"x in(a, b)", "x in (a,b)"},
    {"x notin (a)", "x notin (a)"},
    {"x in ()", "x in ()"},  // the set holding ""
    {"x in (a,)", "x in (,a)"},
    {"x in (,a)", "x in (,a)"},
    {"x in (a,,b)", "x in (,a,b)"},
    {"x", "x"},
    {"!x", "!x"},
    {"x,!y", "x,!y"},
    {"! x", "!x"},
    {"x=", "x="},
    {"x=,y", "x=,y"},
    {"x>1", "x>1"},
    {"x<10", "x<10"},
    {"example.com/app=web", "example.com/app=web"},
    {"app.kubernetes.io/name in (web,api)", "app.kubernetes.io/name in (api,web)"},
    {"in in (in,notin)", "in in (in,notin)"},  // keywords are plain words as keys and values
    {"x=a,x!=b", "x=a,x!=b"},                  // equal keys keep their written order
    {"x!=b,x=a", "x!=b,x=a"},
    {"tier=front-end_1.0", "tier=front-end_1.0"},
};

TEST(LabelSelectorTest, ParseGivesCanonicalString) {
  for (const LabelParseCase& c : kValidLabelSelectors) {
    Result<LabelSelector> s = LabelSelector::Parse(c.input);
    ASSERT_TRUE(s.ok()) << "'" << c.input << "': " << s.status().ToString();
    EXPECT_EQ(s->ToString(), c.canonical) << "'" << c.input << "'";
    EXPECT_EQ(s->Empty(), c.canonical.empty()) << "'" << c.input << "'";
  }
}

TEST(LabelSelectorTest, CanonicalStringParsesBackToAnEqualSelector) {
  for (const LabelParseCase& c : kValidLabelSelectors) {
    const LabelSelector s = MustParseLabels(c.input);
    Result<LabelSelector> again = LabelSelector::Parse(s.ToString());
    ASSERT_TRUE(again.ok()) << s.ToString();
    EXPECT_EQ(*again, s) << "'" << c.input << "'";
  }
}

TEST(LabelSelectorTest, ParseBuildsRequirements) {
  const LabelSelector s = MustParseLabels("z notin (b,a), !y, x>3, w");
  const std::vector<LabelRequirement> want = {
      {"w", Op::kExists, {}},
      {"x", Op::kGreaterThan, {"3"}},
      {"y", Op::kDoesNotExist, {}},
      {"z", Op::kNotIn, {"a", "b"}},
  };
  EXPECT_EQ(s.requirements(), want);
}

struct LabelErrorCase {
  std::string input;
  std::string message;  // exact, or a prefix when it ends in "..."
};

TEST(LabelSelectorTest, ParseRejectsMalformedSelectors) {
  const std::vector<LabelErrorCase> cases = {
      {"x=a,", "found '', expected: identifier after ','"},
      {"x=a,,y", "found ',', expected: identifier after ','"},
      {",x", "found ',', expected: !, identifier, or 'end of string'"},
      {"(x)", "found '(', expected: !, identifier, or 'end of string'"},
      {"x=a=b", "found '=', expected: ',' or 'end of string'"},
      {"x=a b", "found 'b', expected: ',' or 'end of string'"},
      {"!x=a", "found '=', expected: ',' or 'end of string'"},
      {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"},
      {"x in a", "unable to parse requirement: found 'a' expected: '('"},
      {"x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
      {"x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
      {"x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"},
      {"x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"},
      {"x==(", "unable to parse requirement: found '(', expected: identifier"},
      {"!", "unable to parse requirement: found '', expected: identifier"},
      {"!!x", "unable to parse requirement: found '!', expected: identifier"},
      {"x>a",
       "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"},
      {"x<", "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"},
      {"-x=a", "unable to parse requirement: invalid label key \"-x\": name part must consist..."},
      {"x_=a", "unable to parse requirement: invalid label key \"x_\": name part must consist..."},
      {"Example.com/x=a",
       "unable to parse requirement: invalid label key \"Example.com/x\": prefix part a lowercase "
       "RFC 1123 subdomain..."},
      {"/x",
       "unable to parse requirement: invalid label key \"/x\": prefix part must be non-empty"},
      {"a/=b",
       "unable to parse requirement: invalid label key \"a/\": name part must be non-empty..."},
      {"a/b/c",
       "unable to parse requirement: invalid label key \"a/b/c\": a qualified name must..."},
      {std::string(64, 'k') + "=v", "unable to parse requirement: invalid label key \"" +
                                        std::string(64, 'k') +
                                        "\": name part must be no more than 63 characters"},
      {"x=-a",
       "unable to parse requirement: invalid label value: \"-a\": at key: \"x\": a valid label "
       "must be an empty string..."},
      {"x in (a,b@)", "unable to parse requirement: invalid label value: \"b@\": at key: \"x\"..."},
      {"x=" + std::string(64, 'v'), "unable to parse requirement: invalid label value: \"" +
                                        std::string(64, 'v') +
                                        "\": at key: \"x\": must be no more than 63 characters"},
  };
  for (const LabelErrorCase& c : cases) {
    Result<LabelSelector> s = LabelSelector::Parse(c.input);
    ASSERT_FALSE(s.ok()) << "'" << c.input << "' parsed as '" << s->ToString() << "'";
    EXPECT_EQ(s.status().code(), Code::kInvalid) << c.input;
    const std::string got = s.status().message();
    if (c.message.ends_with("...")) {
      const std::string prefix = c.message.substr(0, c.message.size() - 3);
      EXPECT_EQ(got.substr(0, prefix.size()), prefix) << "'" << c.input << "'";
    } else {
      EXPECT_EQ(got, c.message) << "'" << c.input << "'";
    }
  }
}

struct LabelMatchCase {
  std::string selector;
  Labels labels;
  bool matches;
};

TEST(LabelSelectorTest, MatchesWithKubernetesSemantics) {
  const std::vector<LabelMatchCase> cases = {
      {"", {}, true},
      {"", {{"a", "b"}}, true},
      {"x=a", {{"x", "a"}}, true},
      {"x=a", {{"x", "b"}}, false},
      {"x=a", {}, false},
      {"x==a", {{"x", "a"}, {"y", "b"}}, true},
      {"x!=a", {}, true},  // != matches when the key is absent
      {"x!=a", {{"x", "a"}}, false},
      {"x!=a", {{"x", "b"}}, true},
      {"x in (a,b)", {{"x", "b"}}, true},
      {"x in (a,b)", {{"x", "c"}}, false},
      {"x in (a,b)", {}, false},
      {"x notin (a,b)", {}, true},  // so does notin
      {"x notin (a,b)", {{"x", "a"}}, false},
      {"x notin (a,b)", {{"x", "c"}}, true},
      {"x in ()", {{"x", ""}}, true},
      {"x", {{"x", ""}}, true},
      {"x", {}, false},
      {"!x", {}, true},
      {"!x", {{"x", "a"}}, false},
      {"x=", {{"x", ""}}, true},
      {"x=", {}, false},
      {"x=a,y", {{"x", "a"}, {"y", "z"}}, true},
      {"x=a,y", {{"x", "a"}}, false},
      {"x=a,!y", {{"x", "a"}}, true},
      {"x>1", {{"x", "2"}}, true},
      {"x>1", {{"x", "1"}}, false},
      {"x>1", {{"x", "abc"}}, false},  // not an integer: matches neither > nor <
      {"x<1", {{"x", "abc"}}, false},
      {"x>1", {}, false},
      {"x<10", {{"x", "-5"}}, true},
      {"X=a", {{"x", "a"}}, false},  // keys are case-sensitive
  };
  for (const LabelMatchCase& c : cases) {
    const LabelSelector s = MustParseLabels(c.selector);
    EXPECT_EQ(s.Matches(c.labels), c.matches) << "'" << c.selector << "'";
  }
}

TEST(LabelSelectorTest, FromMapRequiresEveryPair) {
  const LabelSelector s = LabelSelector::FromMap({{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(s.ToString(), "a=1,b=2");
  EXPECT_TRUE(s.Matches({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_FALSE(s.Matches({{"a", "1"}}));
  EXPECT_FALSE(s.Matches({{"a", "1"}, {"b", "3"}}));
}

TEST(LabelSelectorTest, FromEmptyMapMatchesEverything) {
  const LabelSelector s = LabelSelector::FromMap({});
  EXPECT_TRUE(s.Empty());
  EXPECT_TRUE(s.Matches({}));
  EXPECT_TRUE(s.Matches({{"a", "1"}}));
}

TEST(LabelSelectorTest, FromRequirementsValidatesAndNormalizes) {
  Result<LabelSelector> s = LabelSelector::FromRequirements({
      {"b", Op::kIn, {"y", "x", "y"}},
      {"a", Op::kExists, {}},
  });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->ToString(), "a,b in (x,y)");

  struct Case {
    LabelRequirement requirement;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"a", Op::kIn, {}}, "for 'in', 'notin' operators, values set can't be empty"},
           {{"a", Op::kEquals, {"x", "y"}}, "exact-match compatibility requires one single value"},
           {{"a", Op::kExists, {"x"}}, "values set must be empty for exists and does not exist"},
           {{"a", Op::kLessThan, {}}, "for 'Gt', 'Lt' operators, exactly one value is required"},
           {{"", Op::kExists, {}},
            "invalid label key \"\": name part must be non-empty; name part "
            "must consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. "
            "'MyName', or 'my.name', or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"}}) {
    Result<LabelSelector> bad = LabelSelector::FromRequirements({c.requirement});
    ASSERT_FALSE(bad.ok()) << c.message;
    EXPECT_EQ(bad.status().code(), Code::kInvalid);
    EXPECT_EQ(bad.status().message(), c.message);
  }
}

TEST(LabelSelectorTest, RequiresExactMatch) {
  const LabelSelector s = MustParseLabels("a=1,b in (2),c in (3,4),d!=5,e");
  EXPECT_EQ(s.RequiresExactMatch("a"), "1");
  EXPECT_EQ(s.RequiresExactMatch("b"), "2");
  EXPECT_EQ(s.RequiresExactMatch("c"), std::nullopt);
  EXPECT_EQ(s.RequiresExactMatch("d"), std::nullopt);
  EXPECT_EQ(s.RequiresExactMatch("e"), std::nullopt);
  EXPECT_EQ(s.RequiresExactMatch("f"), std::nullopt);
}

TEST(LabelSelectorTest, ValidatesKeysAndValuesOnTheirOwn) {
  for (const char* key : {"a", "A1", "a.b-c_d", "example.com/a", "a-1.b/Z", "k8s.io/x"}) {
    EXPECT_TRUE(LabelSelector::ValidateLabelKey(key).ok()) << key;
  }
  for (const char* key :
       {"", "-a", "a-", ".a", "a b", "a@b", "/a", "a/", "a/b/c", "A.com/a", "a..b/c", "-a.com/b"}) {
    EXPECT_EQ(LabelSelector::ValidateLabelKey(key).code(), Code::kInvalid) << key;
  }
  EXPECT_TRUE(LabelSelector::ValidateLabelKey(std::string(63, 'a')).ok());
  EXPECT_FALSE(LabelSelector::ValidateLabelKey(std::string(64, 'a')).ok());
  EXPECT_TRUE(LabelSelector::ValidateLabelKey(std::string(253, 'a') + "/b").ok());
  EXPECT_FALSE(LabelSelector::ValidateLabelKey(std::string(254, 'a') + "/b").ok());

  for (const char* value : {"", "a", "A-b_c.d", "123"}) {
    EXPECT_TRUE(LabelSelector::ValidateLabelValue(value).ok()) << value;
  }
  for (const char* value : {"-a", "a-", "a/b", "a b", "é"}) {
    EXPECT_EQ(LabelSelector::ValidateLabelValue(value).code(), Code::kInvalid) << value;
  }
  EXPECT_TRUE(LabelSelector::ValidateLabelValue(std::string(63, 'v')).ok());
  EXPECT_FALSE(LabelSelector::ValidateLabelValue(std::string(64, 'v')).ok());
}

// ---------------------------------------------------------------------------------------------
// Field selectors

struct FieldParseCase {
  std::string input;
  std::string canonical;
  std::vector<FieldRequirement> requirements;
};

const std::vector<FieldParseCase> kValidFieldSelectors = {
    {"", "", {}},
    {"metadata.name=foo",
     "metadata.name=foo",
     {{"metadata.name", FieldRequirement::Op::kEquals, "foo"}}},
    {"metadata.name==foo",
     "metadata.name=foo",
     {{"metadata.name", FieldRequirement::Op::kEquals, "foo"}}},
    {"spec.nodeName!=",
     "spec.nodeName!=",
     {{"spec.nodeName", FieldRequirement::Op::kNotEquals, ""}}},
    {"spec.nodeName=", "spec.nodeName=", {{"spec.nodeName", FieldRequirement::Op::kEquals, ""}}},
    {"b=1,a=2",
     "a=2,b=1",
     {{"a", FieldRequirement::Op::kEquals, "2"}, {"b", FieldRequirement::Op::kEquals, "1"}}},
    {"a=1,,b=2,",
     "a=1,b=2",
     {{"a", FieldRequirement::Op::kEquals, "1"}, {"b", FieldRequirement::Op::kEquals, "2"}}},
    {R"(a=x\,y)", R"(a=x\,y)", {{"a", FieldRequirement::Op::kEquals, "x,y"}}},
    {R"(a=x\=y)", R"(a=x\=y)", {{"a", FieldRequirement::Op::kEquals, "x=y"}}},
    {R"(a=x\\y)", R"(a=x\\y)", {{"a", FieldRequirement::Op::kEquals, R"(x\y)"}}},
    {R"(a!=\,\=\\)", R"(a!=\,\=\\)", {{"a", FieldRequirement::Op::kNotEquals, R"(,=\)"}}},
    {"a=b!c", "a=b!c", {{"a", FieldRequirement::Op::kEquals, "b!c"}}},  // '!' needs no escape
    {"a=!b", "a=!b", {{"a", FieldRequirement::Op::kEquals, "!b"}}},
    {"a = b", "a = b", {{"a ", FieldRequirement::Op::kEquals, " b"}}},  // no trimming
};

TEST(FieldSelectorTest, ParseGivesRequirementsAndCanonicalString) {
  for (const FieldParseCase& c : kValidFieldSelectors) {
    Result<FieldSelector> s = FieldSelector::Parse(c.input);
    ASSERT_TRUE(s.ok()) << "'" << c.input << "': " << s.status().ToString();
    EXPECT_EQ(s->requirements(), c.requirements) << "'" << c.input << "'";
    EXPECT_EQ(s->ToString(), c.canonical) << "'" << c.input << "'";
    EXPECT_EQ(s->Empty(), c.requirements.empty()) << "'" << c.input << "'";
  }
}

TEST(FieldSelectorTest, CanonicalStringParsesBackToAnEqualSelector) {
  for (const FieldParseCase& c : kValidFieldSelectors) {
    const FieldSelector s = MustParseFields(c.input);
    EXPECT_EQ(MustParseFields(s.ToString()), s) << "'" << c.input << "'";
  }
}

TEST(FieldSelectorTest, ParseRejectsMalformedSelectors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a", "invalid selector: 'a'; can't understand 'a'"},
      {"a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"},
      {"a!b", "invalid selector: 'a!b'; can't understand 'a!b'"},
      {"a=b=c", "invalid field selector: unescaped character in value: '='"},
      {"a===b", "invalid field selector: unescaped character in value: '='"},
      {R"(a=b\)", R"(invalid field selector: invalid escape sequence: \)"},
      {R"(a=\q)", R"(invalid field selector: invalid escape sequence: \q)"},
      {R"(a=\!)", R"(invalid field selector: invalid escape sequence: \!)"},
      {"a=\\\xC3\xA9", "invalid field selector: invalid escape sequence: \\\xC3\xA9"},
  };
  for (const auto& [input, message] : cases) {
    Result<FieldSelector> s = FieldSelector::Parse(input);
    ASSERT_FALSE(s.ok()) << "'" << input << "' parsed as '" << s->ToString() << "'";
    EXPECT_EQ(s.status().code(), Code::kInvalid) << input;
    EXPECT_EQ(s.status().message(), message) << input;
  }
}

struct FieldMatchCase {
  std::string selector;
  std::map<std::string, std::string> fields;
  bool matches;
};

TEST(FieldSelectorTest, MatchesTreatingAbsentFieldsAsEmpty) {
  const std::vector<FieldMatchCase> cases = {
      {"", {}, true},
      {"metadata.name=foo", {{"metadata.name", "foo"}}, true},
      {"metadata.name=foo", {{"metadata.name", "bar"}}, false},
      {"metadata.name=foo", {}, false},
      {"spec.nodeName=", {}, true},  // unscheduled pods
      {"spec.nodeName=", {{"spec.nodeName", "n1"}}, false},
      {"spec.nodeName!=", {}, false},
      {"spec.nodeName!=", {{"spec.nodeName", "n1"}}, true},
      {"status.phase!=Running", {}, true},
      {R"(a=x\,y)", {{"a", "x,y"}}, true},
      {"a=1,b!=2", {{"a", "1"}, {"b", "3"}}, true},
      {"a=1,b!=2", {{"a", "1"}, {"b", "2"}}, false},
  };
  for (const FieldMatchCase& c : cases) {
    const FieldSelector s = MustParseFields(c.selector);
    EXPECT_EQ(s.Matches(Getter(c.fields)), c.matches) << "'" << c.selector << "'";
  }
}

TEST(FieldSelectorTest, FieldsListsEachFieldOnce) {
  EXPECT_EQ(MustParseFields("b=1,a=2,a!=3").Fields(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(MustParseFields("").Fields().empty());
}

TEST(FieldSelectorTest, RequiresExactMatch) {
  const FieldSelector s = MustParseFields("spec.nodeName=n1,status.phase!=Failed");
  EXPECT_EQ(s.RequiresExactMatch("spec.nodeName"), "n1");
  EXPECT_EQ(s.RequiresExactMatch("status.phase"), std::nullopt);
  EXPECT_EQ(s.RequiresExactMatch("metadata.name"), std::nullopt);
}

TEST(FieldSelectorTest, EscapedValueRoundTrips) {
  for (const std::string value : {"plain", "", "a,b", "a=b", R"(a\b)", R"(\,=\\,,)", "x!=y"}) {
    const std::string escaped = FieldSelector::EscapeValue(value);
    const FieldSelector s = MustParseFields("f=" + escaped);
    ASSERT_EQ(s.requirements().size(), 1u) << value;
    EXPECT_EQ(s.requirements()[0].value, value);
    EXPECT_TRUE(s.Matches(Getter({{"f", value}}))) << value;
  }
}

}  // namespace
}  // namespace korc
