#include "libs/data/demo_dataset.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/data/hdf5_io.h"
#include "tests/data/test_files.h"

namespace vlarft::data {
namespace {
namespace fs = std::filesystem;
using testing::ForeignSpec;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(DemoDatasetTest, RoundTripKeepsEverything) {
  const std::string dir = testing::FreshDir("roundtrip");
  // 37 frames at 8x8: three 16-frame chunks, the last one partial.
  TaskDemos demos{"goal", "task_a", "put the red cube in the bowl", R"({"env_name": "x"})",
                  {testing::MakeEpisode(37, 8, 0.f), testing::MakeEpisode(3, 8, 1.f)}};
  const std::string path = dir + "/goal/task_a_demo.hdf5";
  ASSERT_TRUE(WriteTaskFile(path, demos).ok());
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  auto episodes = ReadTaskFile(path, 0);
  ASSERT_TRUE(episodes.ok()) << episodes.status();
  ASSERT_EQ(episodes->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Episode& e = (*episodes)[i];
    EXPECT_EQ(e.instruction, "put the red cube in the bowl");
    EXPECT_EQ(e.suite, "goal");
    EXPECT_EQ(e.task, "task_a");
    EXPECT_EQ(e.length, demos.episodes[i].length);
    EXPECT_EQ(e.frames, demos.episodes[i].frames) << "episode " << i;
    EXPECT_EQ(e.actions, demos.episodes[i].actions);
    EXPECT_EQ(e.proprio, demos.episodes[i].proprio);
  }
  // Same demos, same bytes (no timestamps in the file).
  ASSERT_TRUE(WriteTaskFile(dir + "/again_demo.hdf5", demos).ok());
  EXPECT_EQ(ReadBytes(path), ReadBytes(dir + "/again_demo.hdf5"));

  auto small = ReadTaskFile(path, 4);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)[0].size, 4);
  EXPECT_EQ((*small)[0].frames.size(), 37u * 4 * 4 * 3);
}

TEST(DemoDatasetTest, FileCarriesLiberoAttributesAndActionStats) {
  const std::string path = testing::FreshDir("attrs") + "/t_demo.hdf5";
  ASSERT_TRUE(WriteTaskFile(path, {"goal", "t", "do it", R"({"env_name": "vlarft-tabletop"})",
                                   {testing::MakeEpisode(4, 8, 0.f), testing::MakeEpisode(6, 8, 2.f)}})
                  .ok());
  auto lock = Hdf5Lock();
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t data = H5Gopen2(file, "data", H5P_DEFAULT);
  auto info = ReadStringAttribute(data, "problem_info");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(nlohmann::json::parse(*info)["language_instruction"], "do it");
  EXPECT_EQ(nlohmann::json::parse(*ReadStringAttribute(data, "env_args"))["env_name"], "vlarft-tabletop");
  const nlohmann::json stats = nlohmann::json::parse(*ReadStringAttribute(data, "action_stats"));
  EXPECT_FLOAT_EQ(stats["min"][0].get<double>(), 0.f);
  EXPECT_NEAR(stats["max"][6].get<double>(), 2.f + 0.5f + 6.f, 1e-5);
  int64_t total = 0;
  hid_t attr = H5Aopen(data, "total", H5P_DEFAULT);
  H5Aread(attr, H5T_NATIVE_INT64, &total);
  H5Aclose(attr);
  EXPECT_EQ(total, 10);
  ArrayInfo frames;
  hid_t obs = H5Gopen2(file, "data/demo_1/obs", H5P_DEFAULT);
  auto bytes = ReadByteArray(obs, "agentview_rgb", &frames);
  ASSERT_TRUE(bytes.ok());
  EXPECT_THAT(frames.dims, ::testing::ElementsAre(6, 8, 8, 3));
  // No modification times anywhere, so regenerating the same demos gives the same bytes.
  for (const char* name : {"data", "data/demo_1", "data/demo_1/obs", "data/demo_1/actions", "data/demo_1/obs/agentview_rgb"}) {
    H5O_info_t object;
    ASSERT_GE(H5Oget_info_by_name2(file, name, &object, H5O_INFO_TIME, H5P_DEFAULT), 0) << name;
    EXPECT_EQ(object.ctime, 0) << name;
    EXPECT_EQ(object.mtime, 0) << name;
  }
  H5Gclose(obs), H5Gclose(data), H5Fclose(file);
}

// A file as LIBERO writes it: float64 actions, variable-length string attribute, extra
// observation keys, non-square 16x12 frames (resized on load).
TEST(DemoDatasetTest, ReadsForeignLiberoStyleFiles) {
  const std::string dir = testing::FreshDir("libero");
  const std::string path = dir + "/libero_10/KITCHEN_SCENE3_turn_on_the_stove_demo.hdf5";
  fs::create_directories(dir + "/libero_10");
  testing::WriteForeignFile(path, {});
  auto episodes = ReadTaskFile(path, 8);
  ASSERT_TRUE(episodes.ok()) << episodes.status();
  const Episode& e = (*episodes)[0];
  EXPECT_EQ(e.instruction, "open the top drawer");
  EXPECT_EQ(e.suite, "libero_10");
  EXPECT_EQ(e.task, "KITCHEN_SCENE3_turn_on_the_stove");
  EXPECT_EQ(e.size, 8);
  EXPECT_EQ(e.frames.size(), 2u * 8 * 8 * 3);
  // No image convention attribute: frames are upright as stored (the ramp grows downwards).
  EXPECT_LT(e.frames[0], e.frames[7 * 8 * 3]);
  EXPECT_FLOAT_EQ(e.actions[3], 0.5f);
  EXPECT_FLOAT_EQ(e.state(1)[0], 0.1f);
  EXPECT_FLOAT_EQ(e.state(1)[6], 0.02f);
  auto unsized = ReadTaskFile(path, 0);
  ASSERT_FALSE(unsized.ok());
  EXPECT_THAT(unsized.status().message(), HasSubstr("16x12"));
  // Fixed-length string attributes (other writers) work too.
  ForeignSpec fixed;
  fixed.variable_length_string = false;
  testing::WriteForeignFile(dir + "/fixed_demo.hdf5", fixed);
  auto fixed_read = ReadTaskFile(dir + "/fixed_demo.hdf5", 8);
  ASSERT_TRUE(fixed_read.ok()) << fixed_read.status();
  EXPECT_EQ((*fixed_read)[0].instruction, "open the top drawer");
  auto dataset = LoadDemoDirectory(dir, {"libero_10"}, 8);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->episodes.size(), 1u);
}

// The pixel value the fixture stores in row y (test_files.h), and the upright row y of a file whose
// `rows` rows were written bottom row first.
uint8_t StoredRamp(int y) { return static_cast<uint8_t>(10 * y + 1); }

// LIBERO writes images in OpenGL's convention (bottom row first) and says so in
// data/@macros_image_convention; the reader turns them upright, wrist camera included.
TEST(DemoDatasetTest, OpenGlFramesAreTurnedUprightWristCameraIncluded) {
  const std::string dir = testing::FreshDir("opengl");
  auto row0 = [](const std::vector<uint8_t>& frames) { return frames[0]; };
  auto last_row = [](const std::vector<uint8_t>& frames) { return frames[15 * 16 * 3]; };
  ForeignSpec spec;
  spec.frame_dims = {2, 16, 16, 3};
  spec.with_wrist = true;
  for (const std::string convention : {"opengl", "opencv", ""}) {
    spec.image_convention = convention;
    const std::string path = dir + "/" + (convention.empty() ? "none" : convention) + "_demo.hdf5";
    testing::WriteForeignFile(path, spec);
    const bool flipped = convention == "opengl";
    auto episodes = ReadTaskFile(path, 0, /*with_frames=*/true, /*with_wrist=*/true);
    ASSERT_TRUE(episodes.ok()) << convention << ": " << episodes.status();
    const Episode& e = (*episodes)[0];
    EXPECT_EQ(row0(e.frames), flipped ? StoredRamp(15) : StoredRamp(0)) << convention;
    EXPECT_EQ(last_row(e.frames), flipped ? StoredRamp(0) : StoredRamp(15)) << convention;
    ASSERT_EQ(e.wrist_frames.size(), e.frames.size()) << convention;
    EXPECT_EQ(row0(e.wrist_frames), 255 - row0(e.frames)) << convention;
    // One demo read on its own gets the same orientation; the wrist camera only when asked for.
    auto one = ReadDemoEpisode(path, "demo_0", 0, /*with_wrist=*/true);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(one->frames, e.frames);
    EXPECT_EQ(one->wrist_frames, e.wrist_frames);
    auto without_wrist = ReadTaskFile(path, 8);
    ASSERT_TRUE(without_wrist.ok());
    EXPECT_TRUE((*without_wrist)[0].wrist_frames.empty());
    EXPECT_EQ((*without_wrist)[0].frames.size(), 2u * 8 * 8 * 3);
    EXPECT_EQ((*without_wrist)[0].frames[0] > (*without_wrist)[0].frames[7 * 8 * 3], flipped) << convention;
  }
  spec.image_convention = "directx";
  testing::WriteForeignFile(dir + "/bad_demo.hdf5", spec);
  auto bad = ReadTaskFile(dir + "/bad_demo.hdf5", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), AllOf(HasSubstr("macros_image_convention"), HasSubstr("'directx'"), HasSubstr("opengl")));
  // Our own writer declares its frames upright.
  TaskDemos demos{"libero_goal", "t", "open the drawer", "{}", {testing::MakeEpisode(2, 4, 1.f)}};
  ASSERT_TRUE(WriteTaskFile(dir + "/ours_demo.hdf5", demos).ok());
  auto ours = ReadTaskFile(dir + "/ours_demo.hdf5", 0);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ((*ours)[0].frames, demos.episodes[0].frames);
}

// h5py stores every Python str as a variable-length UTF-8 string; other writers use ASCII or fixed
// lengths. All four load (HDF5 will not convert UTF-8 into an ASCII memory type, which made real
// LIBERO files fail with "attribute 'problem_info' is unreadable").
TEST(DemoDatasetTest, StringAttributesInAsciiOrUtf8FixedOrVariable) {
  const std::string dir = testing::FreshDir("strings");
  for (bool utf8 : {true, false}) {
    for (bool variable : {true, false}) {
      ForeignSpec spec;
      spec.utf8 = utf8;
      spec.variable_length_string = variable;
      spec.problem_info = R"({"language_instruction": "put the café mug on the plate"})";
      spec.image_convention = "opengl";
      const std::string path = absl::StrCat(dir, "/", utf8, variable, "_demo.hdf5");
      testing::WriteForeignFile(path, spec);
      auto episodes = ReadTaskFile(path, 8);
      ASSERT_TRUE(episodes.ok()) << "utf8 " << utf8 << " variable " << variable << ": " << episodes.status();
      EXPECT_EQ((*episodes)[0].instruction, "put the caf\u00e9 mug on the plate");
    }
  }
}

// LIBERO stores the end-effector pose twice: ee_states [T, 6] and ee_pos [T, 3] + ee_ori [T, 3].
// Files with only the pair load from the pair; files with neither say what is missing.
TEST(DemoDatasetTest, ProprioFromEePosAndOriWhenEeStatesIsAbsent) {
  const std::string dir = testing::FreshDir("ee_pair");
  ForeignSpec spec;
  spec.with_ee_states = false;
  spec.with_ee_pos_ori = true;
  testing::WriteForeignFile(dir + "/pair_demo.hdf5", spec);
  auto episodes = ReadTaskFile(dir + "/pair_demo.hdf5", 8);
  ASSERT_TRUE(episodes.ok()) << episodes.status();
  const Episode& e = (*episodes)[0];
  for (int d = 0; d < 3; ++d) EXPECT_FLOAT_EQ(e.state(1)[d], 0.3f) << d;
  for (int d = 3; d < 6; ++d) EXPECT_FLOAT_EQ(e.state(1)[d], -0.2f) << d;
  EXPECT_FLOAT_EQ(e.state(1)[6], 0.02f);
  // Both present: ee_states wins (0.1), as before.
  spec.with_ee_states = true;
  testing::WriteForeignFile(dir + "/both_demo.hdf5", spec);
  auto both = ReadTaskFile(dir + "/both_demo.hdf5", 8);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_FLOAT_EQ((*both)[0].state(0)[0], 0.1f);
  spec.with_ee_states = false;
  spec.with_ee_pos_ori = false;
  testing::WriteForeignFile(dir + "/neither_demo.hdf5", spec);
  auto neither = ReadTaskFile(dir + "/neither_demo.hdf5", 8);
  ASSERT_FALSE(neither.ok());
  EXPECT_EQ(neither.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(neither.status().message(),
              AllOf(HasSubstr("data/demo_0/obs/ee_states"), HasSubstr("missing"), HasSubstr("ee_pos + ee_ori")));
}

// The strongest check: a file written by h5py itself, in the layout of LIBERO's create_dataset.py
// (tests/data/write_libero_h5py.py). Skips, saying why, where no Python has h5py.
TEST(DemoDatasetTest, ReadsFilesWrittenByH5py) {
  const std::string dir = testing::FreshDir("h5py");
  const std::string script = std::string(VLARFT_SOURCE_DIR) + "/tests/data/write_libero_h5py.py";
  // "python3" first; Debian's own interpreter too, where a version manager shadows it.
  std::string python;
  for (const std::string candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = candidate + " -c 'import h5py, numpy' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) GTEST_SKIP() << "no python3 with h5py (Debian: python3-h5py, installed by deploy/install-deps.sh)";
  for (const bool ee_states : {true, false}) {
    const std::string path = dir + "/libero_10/KITCHEN_SCENE3_open_the_top_drawer_of_the_cabinet" +
                             (ee_states ? "" : "_pair") + "_demo.hdf5";
    fs::create_directories(dir + "/libero_10");
    const std::string command = python + " " + script + " " + path + (ee_states ? "" : " --no-ee-states");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    auto episodes = ReadTaskFile(path, 0, /*with_frames=*/true, /*with_wrist=*/true);
    ASSERT_TRUE(episodes.ok()) << episodes.status();
    ASSERT_EQ(episodes->size(), 1u);
    const Episode& e = (*episodes)[0];
    EXPECT_EQ(e.instruction, "open the top drawer of the cabinet");
    EXPECT_EQ(e.suite, "libero_10");
    EXPECT_EQ(e.length, 3);
    EXPECT_EQ(e.size, 128);
    // Upright: pixel (y, x) of step t is ((2y + t) % 256, x % 256, 17) (the script's docstring).
    for (int t = 0; t < 3; ++t) {
      for (int y : {0, 1, 64, 127}) {
        for (int x : {0, 5, 127}) {
          const uint8_t* p = e.frame(t) + (static_cast<size_t>(y) * 128 + x) * 3;
          EXPECT_EQ(p[0], (2 * y + t) % 256) << "t " << t << " y " << y << " x " << x;
          EXPECT_EQ(p[1], x % 256);
          EXPECT_EQ(p[2], 17);
          EXPECT_EQ(e.wrist_frames[e.frame(t) - e.frames.data() + (static_cast<size_t>(y) * 128 + x) * 3], 255 - p[0]);
        }
      }
    }
    EXPECT_NEAR(e.action(1)[0], 0.2f, 1e-6);
    EXPECT_NEAR(e.action(2)[6], -3.f, 1e-6);
    EXPECT_NEAR(e.state(2)[0], 0.12f, 1e-6);   // ee position
    EXPECT_NEAR(e.state(2)[3], 3.06f, 1e-6);   // ee axis-angle
    EXPECT_NEAR(e.state(2)[6], 0.02f, 1e-6);   // gripper
    EXPECT_NEAR(e.state(2)[7], -0.02f, 1e-6);
    // Resized to the tiny preset's 64x64 for the policy.
    auto small = ReadTaskFile(path, 64);
    ASSERT_TRUE(small.ok()) << small.status();
    EXPECT_EQ((*small)[0].size, 64);
  }
}

struct MalformedCase {
  std::string name;
  void (*mutate)(ForeignSpec&);
  std::vector<std::string> expected;  // substrings of the error message
};

TEST(DemoDatasetTest, MalformedFilesAreClearErrorsNamingFileAndField) {
  const std::string dir = testing::FreshDir("malformed");
  const std::vector<MalformedCase> cases = {
      {"no_problem_info", [](ForeignSpec& s) { s.with_problem_info = false; }, {"data", "problem_info", "missing"}},
      {"no_instruction", [](ForeignSpec& s) { s.problem_info = R"({"problem_name": "x"})"; }, {"language_instruction"}},
      {"bad_json", [](ForeignSpec& s) { s.problem_info = "not json"; }, {"problem_info", "JSON"}},
      {"missing_gripper", [](ForeignSpec& s) { s.with_gripper = false; }, {"data/demo_0/obs/gripper_states", "missing"}},
      {"action_rank", [](ForeignSpec& s) { s.action_dims = {14}; }, {"data/demo_0/actions", "[14]", "[T, 7]"}},
      {"action_width", [](ForeignSpec& s) { s.action_dims = {2, 6}; }, {"data/demo_0/actions", "[2, 6]"}},
      {"action_dtype", [](ForeignSpec& s) { s.action_type = H5T_NATIVE_INT32; }, {"data/demo_0/actions", "integer32", "float"}},
      {"frame_dtype", [](ForeignSpec& s) { s.frame_type = H5T_NATIVE_FLOAT; }, {"agentview_rgb", "float32", "uint8"}},
      {"frame_rank", [](ForeignSpec& s) { s.frame_dims = {2, 16, 12}; }, {"agentview_rgb", "[T, H, W, 3]"}},
      {"frame_count", [](ForeignSpec& s) { s.frame_dims = {3, 16, 12, 3}; }, {"agentview_rgb", "3 frames", "2 steps"}},
      {"state_count", [](ForeignSpec& s) { s.ee_dims = {5, 6}; }, {"data/demo_0/obs/ee_states", "5 steps"}},
      {"dones_count", [](ForeignSpec& s) { s.dones_dims = {4}; }, {"data/demo_0/dones", "[4]"}},
      {"empty", [](ForeignSpec& s) { s.action_dims = {0, 7}, s.ee_dims = {0, 6}, s.frame_dims = {0, 16, 12, 3}, s.dones_dims = {0}; },
       {"data/demo_0/actions", "no steps"}},
  };
  for (const MalformedCase& c : cases) {
    ForeignSpec spec;
    c.mutate(spec);
    const std::string path = dir + "/" + c.name + "_demo.hdf5";
    testing::WriteForeignFile(path, spec);
    auto read = ReadTaskFile(path, 8);
    ASSERT_FALSE(read.ok()) << c.name;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << c.name << ": " << read.status();
    EXPECT_THAT(read.status().message(), HasSubstr(path)) << c.name;
    for (const std::string& s : c.expected) EXPECT_THAT(read.status().message(), HasSubstr(s)) << c.name;
  }
  EXPECT_EQ(ReadTaskFile(dir + "/absent_demo.hdf5", 8).status().code(), absl::StatusCode::kNotFound);
  std::ofstream(dir + "/text_demo.hdf5") << "not hdf5";
  auto text = ReadTaskFile(dir + "/text_demo.hdf5", 8);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(text.status().message(), AllOf(HasSubstr("text_demo.hdf5"), HasSubstr("not an HDF5 file")));
  // A directory with a bad file fails as a whole, naming the file.
  auto dataset = LoadDemoDirectory(dir, {}, 8);
  ASSERT_FALSE(dataset.ok());
  EXPECT_THAT(dataset.status().message(), HasSubstr("_demo.hdf5"));
  EXPECT_EQ(LoadDemoDirectory(dir + "/nowhere", {}, 8).status().code(), absl::StatusCode::kNotFound);
}

TEST(DemoDatasetTest, WriterRejectsInconsistentEpisodes) {
  Episode e = testing::MakeEpisode(3, 8, 0.f);
  e.actions.pop_back();
  const absl::Status s = WriteTaskFile(testing::FreshDir("reject") + "/x_demo.hdf5", {"goal", "x", "x", "{}", {e}});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("episode 0"));
}

TEST(DemoDatasetTest, DirectoryStatisticsCoverAllSteps) {
  const std::string dir = testing::FreshDir("stats");
  ASSERT_TRUE(WriteTaskFile(dir + "/goal/a_demo.hdf5", {"goal", "a", "do a", "{}", {testing::MakeEpisode(5, 8, 0.f)}}).ok());
  ASSERT_TRUE(WriteTaskFile(dir + "/long/b_demo.hdf5", {"long", "b", "do b", "{}", {testing::MakeEpisode(3, 8, 1.f)}}).ok());
  auto dataset = LoadDemoDirectory(dir, {}, 8);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  ASSERT_EQ(dataset->episodes.size(), 2u);
  EXPECT_EQ(dataset->episodes[0].task, "a");  // sorted by path
  EXPECT_DOUBLE_EQ(dataset->actions.min[0], 0.0);
  EXPECT_NEAR(dataset->actions.max[6], 1.f + 0.2f + 6.f, 1e-5);
  EXPECT_NEAR(dataset->actions.mean[0], (0 + 0.1 + 0.2 + 0.3 + 0.4 + 1 + 1.1 + 1.2) / 8, 1e-6);
  EXPECT_EQ(LoadDemoDirectory(dir, {"long"}, 8)->episodes.size(), 1u);
  EXPECT_EQ(LoadDemoDirectory(dir, {"spatial"}, 8).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadDemoDirectory(dir, {}, 8, /*max_per_task=*/1)->episodes.size(), 2u);
}

}  // namespace
}  // namespace vlarft::data
