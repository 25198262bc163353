#include "libs/core/config.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vlarft::core {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct BatchingConfig {
  int max_batch = 32;
  double max_wait_ms = 5.0;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("max_batch", max_batch, "largest batch the simulator forms");
    v.Field("max_wait_ms", max_wait_ms, "how long the first request waits for company");
  }
  absl::Status Validate() const {
    if (max_batch <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("max_batch must be positive, got ", max_batch));
    }
    return absl::OkStatus();
  }
};

struct TierConfig {
  std::string name;
  int64_t weight = 1;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("name", name);
    v.Field("weight", weight);
  }
};

struct SimulatorConfig {
  std::string model_path = "wm.safetensors";
  int64_t seed = 0;
  uint64_t cache_bytes = 1 << 20;
  float temperature = 1.0f;
  bool use_kv_cache = true;
  std::vector<int> ports = {50051};
  std::vector<std::string> tags;
  std::vector<bool> flags;
  std::vector<double> weights;
  BatchingConfig batching;
  std::vector<TierConfig> tiers;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("model_path", model_path);
    v.Field("seed", seed);
    v.Field("cache_bytes", cache_bytes);
    v.Field("temperature", temperature);
    v.Field("use_kv_cache", use_kv_cache);
    v.Field("ports", ports);
    v.Field("tags", tags);
    v.Field("flags", flags);
    v.Field("weights", weights);
    v.Field("batching", batching);
    v.Field("tiers", tiers);
  }
};

// A struct whose defaults are invalid: Validate() must run even when nothing is configured.
struct NeedsName {
  std::string name;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("name", name);
  }
  absl::Status Validate() const {
    return name.empty() ? absl::InvalidArgumentError("name is required") : absl::OkStatus();
  }
};

std::string Message(const absl::Status& status) { return std::string(status.message()); }

YAML::Node Parse(const std::string& text) {
  absl::StatusOr<YAML::Node> node = ParseYamlString(text, "test");
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? *node : YAML::Node();
}

absl::StatusOr<SimulatorConfig> BindText(const std::string& text) {
  SimulatorConfig config;
  absl::Status status = BindConfig(Parse(text), &config);
  if (!status.ok()) return status;
  return config;
}

absl::Status BindError(const std::string& text) {
  absl::StatusOr<SimulatorConfig> config = BindText(text);
  EXPECT_FALSE(config.ok()) << "accepted: " << text;
  return config.status();
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "config_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  fs::path dir_;
};

// ---- binding ----------------------------------------------------------------------------------

enum class Codec { kRaw = 1, kDeflate = 7 };

}  // namespace

template <>
struct EnumNames<Codec> {
  static constexpr std::pair<Codec, const char*> kEntries[] = {{Codec::kRaw, "raw"}, {Codec::kDeflate, "deflate"}};
};

namespace {

struct StorageConfig {
  Codec codec = Codec::kRaw;
  std::vector<Codec> fallbacks;
  template <typename V>
  void VisitFields(V& v) {
    v.Field("codec", codec);
    v.Field("fallbacks", fallbacks);
  }
};

// An enum field holds its name; its number is accepted too; anything else names the field and the
// choices; the effective config writes names back.
TEST(BindConfigTest, NamedEnumFields) {
  auto bind = [](const std::string& text, StorageConfig* out) {
    return BindConfig(*ParseYamlString(text, "test"), out, "storage");
  };
  StorageConfig config;
  ASSERT_TRUE(bind("codec: deflate\nfallbacks: [raw, 7]\n", &config).ok());
  EXPECT_EQ(config.codec, Codec::kDeflate);
  EXPECT_EQ(config.fallbacks, (std::vector<Codec>{Codec::kRaw, Codec::kDeflate}));
  EXPECT_EQ(ConfigToYamlString(config), "codec: deflate\nfallbacks:\n  - raw\n  - deflate");
  EXPECT_EQ(std::string(bind("codec: zstd\n", &config).message()),
            "config 'storage.codec': 'zstd' is not one of raw | deflate");
  EXPECT_EQ(std::string(bind("codec: 2\n", &config).message()), "config 'storage.codec': '2' is not one of raw | deflate");
  EXPECT_THAT(std::string(bind("codec: {a: 1}\n", &config).message()), HasSubstr("expected raw | deflate"));
  EXPECT_EQ(EnumName(Codec::kDeflate), std::string("deflate"));
  EXPECT_EQ(*ParseEnum<Codec>("1", "x"), Codec::kRaw);
}

TEST(BindConfigTest, NullOrUndefinedNodeKeepsDefaults) {
  SimulatorConfig config;
  ASSERT_TRUE(BindConfig(YAML::Node(), &config).ok());
  ASSERT_TRUE(BindConfig(YAML::Node(YAML::NodeType::Undefined), &config).ok());
  EXPECT_EQ(config.model_path, "wm.safetensors");
  EXPECT_EQ(config.batching.max_batch, 32);
  EXPECT_THAT(config.ports, ElementsAre(50051));
}

TEST(BindConfigTest, ReadsEveryFieldType) {
  const absl::StatusOr<SimulatorConfig> config = BindText(R"(
model_path: /models/wm.safetensors
seed: -7
cache_bytes: 18446744073709551615
temperature: 0.25
use_kv_cache: false
ports: [1, 2, 3]
tags: [a, "b c"]
flags: [true, false, true]
weights: [0.5, 1e-3]
batching:
  max_batch: 64
  max_wait_ms: 2.5
tiers:
  - {name: gold, weight: 3}
  - name: silver
)");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_path, "/models/wm.safetensors");
  EXPECT_EQ(config->seed, -7);
  EXPECT_EQ(config->cache_bytes, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(config->temperature, 0.25f);
  EXPECT_FALSE(config->use_kv_cache);
  EXPECT_THAT(config->ports, ElementsAre(1, 2, 3));
  EXPECT_THAT(config->tags, ElementsAre("a", "b c"));
  EXPECT_THAT(config->flags, ElementsAre(true, false, true));
  EXPECT_THAT(config->weights, ElementsAre(0.5, 1e-3));
  EXPECT_EQ(config->batching.max_batch, 64);
  EXPECT_EQ(config->batching.max_wait_ms, 2.5);
  ASSERT_EQ(config->tiers.size(), 2u);
  EXPECT_EQ(config->tiers[0].name, "gold");
  EXPECT_EQ(config->tiers[0].weight, 3);
  EXPECT_EQ(config->tiers[1].name, "silver");
  EXPECT_EQ(config->tiers[1].weight, 1);
}

TEST(BindConfigTest, AbsentAndNullKeysKeepDefaults) {
  const absl::StatusOr<SimulatorConfig> config = BindText("seed: 3\nbatching:\n  max_batch: ~\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->seed, 3);
  EXPECT_EQ(config->batching.max_batch, 32);
  EXPECT_EQ(config->batching.max_wait_ms, 5.0);
  EXPECT_EQ(config->model_path, "wm.safetensors");
}

TEST(BindConfigTest, EmptyListReplacesDefault) {
  const absl::StatusOr<SimulatorConfig> config = BindText("ports: []\n");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->ports.empty());
}

TEST(BindConfigTest, UnknownKeysNameThePathAndKnownKeys) {
  EXPECT_EQ(Message(BindError("batching:\n  max_bach: 3\n")),
            "config 'batching': unknown key 'max_bach' (known keys: max_batch, max_wait_ms)");
  const std::string root = Message(BindError("modle_path: x\nsede: 1\n"));
  EXPECT_THAT(root, HasSubstr("config '<root>': unknown keys 'modle_path', 'sede' (known keys: "));
  EXPECT_THAT(root, HasSubstr("model_path"));
  EXPECT_THAT(Message(BindError("tiers: [{name: a, wieght: 2}]\n")),
              HasSubstr("config 'tiers[0]': unknown key 'wieght'"));
  SimulatorConfig config;
  EXPECT_THAT(Message(BindConfig(Parse("batching: {max_bach: 3}"), &config, "simulator")),
              HasSubstr("config 'simulator.batching': unknown key 'max_bach'"));
}

TEST(BindConfigTest, NonScalarKeyIsUnknownNotACrash) {
  EXPECT_THAT(Message(BindError("? [a, b]\n: 1\n")), HasSubstr("unknown key '<non-scalar key>'"));
}

TEST(BindConfigTest, TypeErrorsNameTheField) {
  EXPECT_EQ(Message(BindError("batching: {max_batch: abc}")),
            "config 'batching.max_batch': expected integer, got 'abc'");
  EXPECT_EQ(Message(BindError("batching: {max_batch: 1.5}")),
            "config 'batching.max_batch': expected integer, got '1.5'");
  EXPECT_THAT(Message(BindError("batching: {max_batch: 1e3}")), HasSubstr("expected integer"));
  EXPECT_THAT(Message(BindError("batching: {max_batch: 99999999999}")),
              HasSubstr("expected integer"));
  EXPECT_EQ(Message(BindError("cache_bytes: -1")),
            "config 'cache_bytes': expected integer, got '-1'");
  EXPECT_EQ(Message(BindError("use_kv_cache: maybe")),
            "config 'use_kv_cache': expected bool, got 'maybe'");
  EXPECT_EQ(Message(BindError("temperature: warm")),
            "config 'temperature': expected number, got 'warm'");
  EXPECT_EQ(Message(BindError("model_path: [a]")),
            "config 'model_path': expected string, got a sequence");
  EXPECT_EQ(Message(BindError("ports: 5")), "config 'ports': expected list, got '5'");
  EXPECT_EQ(Message(BindError("ports: [1, x]")), "config 'ports[1]': expected integer, got 'x'");
  EXPECT_EQ(Message(BindError("batching: 3")), "config 'batching': expected a map, got '3'");
  EXPECT_EQ(Message(BindError("flags: [yes, 2]")), "config 'flags[1]': expected bool, got '2'");
  EXPECT_EQ(Message(BindError("[1, 2]")), "config '<root>': expected a map, got a sequence");
}

TEST(BindConfigTest, ValidateFailureIsReportedWithPath) {
  const absl::Status status = BindError("batching: {max_batch: 0}");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), "config 'batching': max_batch must be positive, got 0");

  NeedsName needs;
  EXPECT_EQ(Message(BindConfig(YAML::Node(), &needs)), "config '<root>': name is required");
  EXPECT_EQ(Message(BindConfig(Parse("name: ''"), &needs, "job")),
            "config 'job': name is required");
  EXPECT_TRUE(BindConfig(Parse("name: x"), &needs).ok());
}

// ---- YAML parsing -----------------------------------------------------------------------------

TEST(ParseYamlStringTest, ErrorsNameOriginLineAndColumn) {
  const absl::StatusOr<YAML::Node> node = ParseYamlString("a: 1\nb: [1, 2\nc: 3\n", "inline.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(node.status()),
              MatchesRegex("inline\\.yaml:[0-9]+:[0-9]+: invalid YAML: .*"));
}

TEST_F(ConfigFileTest, LoadYamlFile) {
  const absl::StatusOr<YAML::Node> node = LoadYamlFile(WriteFile("ok.yaml", "a: {b: 2}\n"));
  ASSERT_TRUE(node.ok());
  EXPECT_EQ((*node)["a"]["b"].as<int>(), 2);

  const absl::StatusOr<YAML::Node> missing = LoadYamlFile((dir_ / "missing.yaml").string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing.status()), HasSubstr("missing.yaml"));

  EXPECT_THAT(Message(LoadYamlFile(dir_.string()).status()), HasSubstr("is a directory"));

  const std::string bad = WriteFile("bad.yaml", "a: 1\nb: 2\nc: [unclosed\n");
  const absl::StatusOr<YAML::Node> parse_error = LoadYamlFile(bad);
  ASSERT_FALSE(parse_error.ok());
  EXPECT_EQ(parse_error.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(parse_error.status()), HasSubstr(bad + ":"));

  const std::string tabs = WriteFile("tabs.yaml", "a: 1\nb:\n  c: 1\n d: 2\n");
  const absl::StatusOr<YAML::Node> indent_error = LoadYamlFile(tabs);
  ASSERT_FALSE(indent_error.ok());
  EXPECT_THAT(Message(indent_error.status()), HasSubstr(tabs + ":4:"));
}

// ---- overrides --------------------------------------------------------------------------------

TEST(ApplyOverrideTest, ValuesAreParsedAsYaml) {
  YAML::Node root = Parse("a: 1\n");
  ASSERT_TRUE(ApplyOverride(root, "a=2").ok());
  ASSERT_TRUE(ApplyOverride(root, "flag=true").ok());
  ASSERT_TRUE(ApplyOverride(root, "list=[1, 2]").ok());
  ASSERT_TRUE(ApplyOverride(root, "map={x: 1}").ok());
  ASSERT_TRUE(ApplyOverride(root, "text=hello world").ok());
  ASSERT_TRUE(ApplyOverride(root, "eq=a=b").ok());
  ASSERT_TRUE(ApplyOverride(root, " spaced = 3").ok());
  EXPECT_EQ(root["a"].as<int>(), 2);
  EXPECT_TRUE(root["flag"].as<bool>());
  EXPECT_EQ(root["list"].as<std::vector<int>>(), (std::vector<int>{1, 2}));
  EXPECT_EQ(root["map"]["x"].as<int>(), 1);
  EXPECT_EQ(root["text"].as<std::string>(), "hello world");
  EXPECT_EQ(root["eq"].as<std::string>(), "a=b");
  EXPECT_EQ(root["spaced"].as<int>(), 3);
}

TEST(ApplyOverrideTest, CreatesNestedMapsWithoutTouchingSiblings) {
  YAML::Node root = Parse("a: {b: 1, keep: 2}\nc: {d: 3}\n");
  ASSERT_TRUE(ApplyOverride(root, "a.b=5").ok());
  ASSERT_TRUE(ApplyOverride(root, "c.e.f.g=4").ok());
  ASSERT_TRUE(ApplyOverride(root, "new.section.key=x").ok());
  EXPECT_EQ(root["a"]["b"].as<int>(), 5);
  EXPECT_EQ(root["a"]["keep"].as<int>(), 2);
  EXPECT_EQ(root["c"]["d"].as<int>(), 3);
  EXPECT_EQ(root["c"]["e"]["f"]["g"].as<int>(), 4);
  EXPECT_EQ(root["new"]["section"]["key"].as<std::string>(), "x");
  EXPECT_EQ(root.size(), 3u);
  EXPECT_EQ(root["a"].size(), 2u);
  EXPECT_EQ(root["c"].size(), 2u);
}

TEST(ApplyOverrideTest, ReplacesSubtrees) {
  YAML::Node root = Parse("a: {b: {c: 1}}\nx: 1\n");
  ASSERT_TRUE(ApplyOverride(root, "a.b=7").ok());
  EXPECT_EQ(root["a"]["b"].as<int>(), 7);
  ASSERT_TRUE(ApplyOverride(root, "x={y: 2}").ok());
  EXPECT_EQ(root["x"]["y"].as<int>(), 2);
}

TEST(ApplyOverrideTest, WorksOnEmptyRoots) {
  YAML::Node default_root;
  ASSERT_TRUE(ApplyOverride(default_root, "a.b=1").ok());
  EXPECT_EQ(default_root["a"]["b"].as<int>(), 1);
  YAML::Node null_root = Parse("");
  ASSERT_TRUE(ApplyOverride(null_root, "k=v").ok());
  EXPECT_EQ(null_root["k"].as<std::string>(), "v");
  YAML::Node null_child = Parse("a: ~\n");
  ASSERT_TRUE(ApplyOverride(null_child, "a.b=1").ok());
  EXPECT_EQ(null_child["a"]["b"].as<int>(), 1);
}

TEST(ApplyOverrideTest, MalformedAssignments) {
  YAML::Node root = Parse("a: {b: 1}\nlist: [1, 2]\n");
  const YAML::Node before = YAML::Clone(root);
  EXPECT_THAT(Message(ApplyOverride(root, "a.b")), HasSubstr("expected key=value"));
  EXPECT_THAT(Message(ApplyOverride(root, "=5")), HasSubstr("empty key"));
  EXPECT_THAT(Message(ApplyOverride(root, "  =5")), HasSubstr("empty key"));
  for (const char* bad : {"a..b=1", ".a=1", "a.=1"}) {
    const absl::Status status = ApplyOverride(root, bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Message(status), HasSubstr("empty segment")) << bad;
  }
  EXPECT_EQ(Message(ApplyOverride(root, "a.b.c=1")),
            "override 'a.b.c=1': cannot set a key below 'a.b', which is '1', not a map");
  EXPECT_THAT(Message(ApplyOverride(root, "list.x=1")), HasSubstr("which is a sequence"));
  EXPECT_EQ(Message(ApplyOverride(root, "a.b=[1,")),
            "override 'a.b=[1,': value is not valid YAML: end of sequence flow not found");
  // Nothing above changed the tree.
  EXPECT_EQ(YAML::Dump(root), YAML::Dump(before));

  YAML::Node scalar_root = Parse("just text");
  EXPECT_THAT(Message(ApplyOverride(scalar_root, "a=1")), HasSubstr("below '<root>'"));
}

TEST(ApplyOverrideTest, ApplyOverridesStopsAtFirstError) {
  YAML::Node root;
  const absl::Status status = ApplyOverrides(root, {"a=1", "oops", "b=2"});
  EXPECT_THAT(Message(status), HasSubstr("'oops'"));
  EXPECT_EQ(root["a"].as<int>(), 1);
  EXPECT_FALSE(root["b"].IsDefined());
}

// ---- NodeAtPath ---------------------------------------------------------------------------------

TEST(NodeAtPathTest, FindsNestedNodesWithoutCreatingAny) {
  const YAML::Node root = Parse("a: {b: {c: 3}}\ns: text\n");
  EXPECT_EQ(NodeAtPath(root, "a.b.c").as<int>(), 3);
  EXPECT_TRUE(NodeAtPath(root, "a.b").IsMap());
  EXPECT_TRUE(NodeAtPath(root, "").IsMap());
  EXPECT_EQ(NodeAtPath(root, "").size(), 2u);
  EXPECT_FALSE(NodeAtPath(root, "a.x").IsDefined());
  EXPECT_FALSE(NodeAtPath(root, "x.y.z").IsDefined());
  EXPECT_FALSE(NodeAtPath(root, "s.t").IsDefined());
  EXPECT_FALSE(NodeAtPath(root, "a..b").IsDefined());
  EXPECT_FALSE(NodeAtPath(YAML::Node(), "a").IsDefined());
  EXPECT_EQ(root.size(), 2u);
  EXPECT_EQ(root["a"].size(), 1u);
}

TEST(NodeAtPathTest, ReturnsTheNodeItself) {
  YAML::Node root = Parse("a: {b: 1}\n");
  YAML::Node section = NodeAtPath(root, "a");
  section["c"] = 2;  // edits through the returned node reach the tree (shared, not copied)
  EXPECT_EQ(root["a"]["c"].as<int>(), 2);
  EXPECT_EQ(root["a"]["b"].as<int>(), 1);
}

// ---- LoadConfig -------------------------------------------------------------------------------

TEST_F(ConfigFileTest, LoadConfigWithSectionAndOverrides) {
  const std::string path = WriteFile("sim.yaml", R"(
simulator:
  model_path: a.safetensors
  batching:
    max_batch: 8
learner:
  lr: 0.1
)");
  const absl::StatusOr<SimulatorConfig> config = LoadConfig<SimulatorConfig>(
      path, {"simulator.batching.max_wait_ms=9", "simulator.ports=[7, 8]", "learner.lr=oops"},
      "simulator");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->model_path, "a.safetensors");
  EXPECT_EQ(config->batching.max_batch, 8);
  EXPECT_EQ(config->batching.max_wait_ms, 9.0);
  EXPECT_THAT(config->ports, ElementsAre(7, 8));
}

TEST_F(ConfigFileTest, LoadConfigErrors) {
  const std::string path = WriteFile("sim.yaml", "simulator:\n  batching: {max_batch: 8}\n");
  EXPECT_EQ(
      Message(LoadConfig<SimulatorConfig>(path, {"simulator.batching.max_bach=1"}, "simulator")
                  .status()),
      "config 'simulator.batching': unknown key 'max_bach' (known keys: max_batch, max_wait_ms)");
  EXPECT_EQ(
      Message(LoadConfig<SimulatorConfig>(path, {"simulator.batching.max_batch=abc"}, "simulator")
                  .status()),
      "config 'simulator.batching.max_batch': expected integer, got 'abc'");
  EXPECT_EQ(
      Message(LoadConfig<SimulatorConfig>(path, {"simulator.batching.max_batch=-1"}, "simulator")
                  .status()),
      "config 'simulator.batching': max_batch must be positive, got -1");
  EXPECT_THAT(Message(LoadConfig<SimulatorConfig>(path, {"no-equals"}, "simulator").status()),
              HasSubstr("expected key=value"));
  EXPECT_EQ(LoadConfig<SimulatorConfig>((dir_ / "nope.yaml").string(), {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ConfigFileTest, LoadConfigDefaultsAndMissingSections) {
  const absl::StatusOr<SimulatorConfig> defaults = LoadConfig<SimulatorConfig>("", {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->batching.max_batch, 32);

  const std::string other = WriteFile("other.yaml", "learner: {lr: 1}\n");
  const absl::StatusOr<SimulatorConfig> missing_section =
      LoadConfig<SimulatorConfig>(other, {}, "simulator");
  ASSERT_TRUE(missing_section.ok()) << missing_section.status();
  EXPECT_EQ(missing_section->model_path, "wm.safetensors");

  // An override can create the section on its own.
  const absl::StatusOr<SimulatorConfig> created =
      LoadConfig<SimulatorConfig>(other, {"simulator.batching.max_batch=3"}, "simulator");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->batching.max_batch, 3);

  const std::string empty = WriteFile("empty.yaml", "");
  const absl::StatusOr<SimulatorConfig> from_empty = LoadConfig<SimulatorConfig>(empty, {"seed=5"});
  ASSERT_TRUE(from_empty.ok()) << from_empty.status();
  EXPECT_EQ(from_empty->seed, 5);
}

// ---- writing ------------------------------------------------------------------------------------

TEST(ConfigToYamlTest, RoundTrips) {
  SimulatorConfig original;
  original.model_path = "x/y.safetensors";
  original.seed = -123456789012;
  original.cache_bytes = std::numeric_limits<uint64_t>::max();
  original.temperature = 0.1f;
  original.use_kv_cache = false;
  original.ports = {};
  original.tags = {"a", "with: colon", ""};
  original.flags = {true, false};
  original.weights = {0.1, 1e-300};
  original.batching.max_batch = 64;
  original.batching.max_wait_ms = 1.0 / 3.0;
  original.tiers = {{"gold", 3}, {"silver", 1}};

  const std::string text = ConfigToYamlString(original);
  EXPECT_THAT(text, HasSubstr("max_batch: 64"));
  const absl::StatusOr<SimulatorConfig> parsed = BindText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  EXPECT_EQ(parsed->model_path, original.model_path);
  EXPECT_EQ(parsed->seed, original.seed);
  EXPECT_EQ(parsed->cache_bytes, original.cache_bytes);
  EXPECT_EQ(parsed->temperature, original.temperature);
  EXPECT_EQ(parsed->use_kv_cache, original.use_kv_cache);
  EXPECT_EQ(parsed->ports, original.ports);
  EXPECT_EQ(parsed->tags, original.tags);
  EXPECT_EQ(parsed->flags, original.flags);
  EXPECT_EQ(parsed->weights, original.weights);
  EXPECT_EQ(parsed->batching.max_batch, original.batching.max_batch);
  EXPECT_EQ(parsed->batching.max_wait_ms, original.batching.max_wait_ms);
  ASSERT_EQ(parsed->tiers.size(), 2u);
  EXPECT_EQ(parsed->tiers[0].name, "gold");
  EXPECT_EQ(parsed->tiers[1].weight, 1);
}

TEST(ConfigToYamlTest, ListsEveryField) {
  const YAML::Node node = ConfigToYaml(SimulatorConfig());
  ASSERT_TRUE(node.IsMap());
  EXPECT_EQ(node.size(), 11u);
  EXPECT_TRUE(node["batching"].IsMap());
  EXPECT_EQ(node["batching"]["max_batch"].as<int>(), 32);
  EXPECT_TRUE(node["tags"].IsSequence());
}

}  // namespace
}  // namespace vlarft::core
