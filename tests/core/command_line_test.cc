#include "libs/core/command_line.h"

#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

struct Batching {
  int max_batch = 32;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("max_batch", max_batch, "largest batch");
  }
};

struct GenerateOptions {
  std::string out = "data";
  int demos_per_task = 50;
  bool verbose = false;
  std::vector<std::string> suites = {"spatial", "object"};
  Batching batching;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("out", out, "output directory");
    v.Field("demos_per_task", demos_per_task, "demonstrations per task");
    v.Field("verbose", verbose, "log more");
    v.Field("suites", suites, "suites to generate");
    v.Field("batching", batching);
  }
};

TEST(CommandLineTest, ParsesBothSpellingsBoolsListsAndNestedOptions) {
  auto parsed = ParseCommandLine({"input.h5", "--out=/tmp/x", "--demos_per_task", "7", "--verbose",
                                  "--suites=[goal,long]", "--batching.max_batch=4", "--", "--literal"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->positional, (std::vector<std::string>{"input.h5", "--literal"}));
  GenerateOptions options;
  ASSERT_TRUE(BindOptions(*parsed, &options).ok());
  EXPECT_EQ(options.out, "/tmp/x");
  EXPECT_EQ(options.demos_per_task, 7);
  EXPECT_TRUE(options.verbose);
  EXPECT_EQ(options.suites, (std::vector<std::string>{"goal", "long"}));
  EXPECT_EQ(options.batching.max_batch, 4);
}

TEST(CommandLineTest, ConfigAndSetAreCollectedSeparately) {
  auto parsed = ParseCommandLine({"--config", "c.yaml", "--set", "a.b=1", "--set=c=2", "-h"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config_file, "c.yaml");
  EXPECT_EQ(parsed->config_overrides, (std::vector<std::string>{"a.b=1", "c=2"}));
  EXPECT_TRUE(parsed->help);
  EXPECT_EQ(parsed->options.size(), 0u);
}

TEST(CommandLineTest, UnknownAndMistypedOptionsAreErrors) {
  GenerateOptions options;
  auto unknown = ParseCommandLine({"--demos_per_tsk=3"});
  ASSERT_TRUE(unknown.ok());
  absl::Status status = BindOptions(*unknown, &options);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("demos_per_tsk"), std::string::npos) << status;
  EXPECT_NE(status.message().find("demos_per_task"), std::string::npos) << "should list known keys";

  auto mistyped = ParseCommandLine({"--demos_per_task=many"});
  ASSERT_TRUE(mistyped.ok());
  status = BindOptions(*mistyped, &options);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("demos_per_task"), std::string::npos) << status;

  EXPECT_FALSE(ParseCommandLine({"--config"}).ok());
  EXPECT_FALSE(ParseCommandLine({"--set"}).ok());
  EXPECT_FALSE(ParseCommandLine({"--=3"}).ok());
}

TEST(CommandLineTest, HelpListsEveryOptionWithDefaults) {
  const std::string help = OptionsHelp(GenerateOptions{});
  EXPECT_NE(help.find("--demos_per_task (default: 50)"), std::string::npos) << help;
  EXPECT_NE(help.find("--batching.max_batch (default: 32)"), std::string::npos) << help;
  EXPECT_NE(help.find("demonstrations per task"), std::string::npos);
  const std::string section = OptionsHelp(Batching{}, "simulator", "--set ");
  EXPECT_NE(section.find("--set simulator.max_batch (default: 32)"), std::string::npos) << section;
}

}  // namespace
}  // namespace vlarft::core
