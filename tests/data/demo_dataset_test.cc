#include "libs/data/demo_dataset.h"

#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "libs/data/generate.h"
#include "libs/data/prompts.h"

namespace vlarft::data {
namespace {
namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/vlarft_data_" + name + "_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Episode MakeEpisode(int64_t length, int size, float base) {
  Episode e;
  e.length = length;
  e.size = size;
  for (int64_t t = 0; t < length; ++t) {
    for (int i = 0; i < size * size * 3; ++i) e.frames.push_back(static_cast<uint8_t>((t * 7 + i) % 256));
    for (int d = 0; d < kActionDim; ++d) e.actions.push_back(base + t * 0.1f + d);
    for (int d = 0; d < kProprioDim; ++d) e.proprio.push_back(base - d * 0.01f + t);
  }
  return e;
}

TEST(DemoDatasetTest, RoundTripKeepsEverything) {
  const std::string dir = TempDir("roundtrip");
  TaskDemos demos{"goal", "task_a", "put the red cube in the bowl", "{}", {MakeEpisode(5, 8, 0.f), MakeEpisode(3, 8, 1.f)}};
  ASSERT_TRUE(WriteTaskFile(dir + "/goal/task_a_demo.hdf5", demos).ok());
  auto episodes = ReadTaskFile(dir + "/goal/task_a_demo.hdf5", 0);
  ASSERT_TRUE(episodes.ok()) << episodes.status();
  ASSERT_EQ(episodes->size(), 2u);
  EXPECT_EQ((*episodes)[0].instruction, "put the red cube in the bowl");
  EXPECT_EQ((*episodes)[0].suite, "goal");
  EXPECT_EQ((*episodes)[0].frames, demos.episodes[0].frames);
  EXPECT_EQ((*episodes)[1].actions, demos.episodes[1].actions);
  EXPECT_EQ((*episodes)[1].proprio, demos.episodes[1].proprio);
  // Resized on load.
  auto small = ReadTaskFile(dir + "/goal/task_a_demo.hdf5", 4);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)[0].frames.size(), 5u * 4 * 4 * 3);
  auto dataset = LoadDemoDirectory(dir, {}, 8);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->episodes.size(), 2u);
  EXPECT_FLOAT_EQ(dataset->actions.min[0], 0.f);
  EXPECT_NEAR(dataset->actions.max[6], 1.f + 0.2f + 6.f, 1e-5);
  EXPECT_FALSE(LoadDemoDirectory(dir, {"spatial"}, 8).ok());
}

// A LIBERO-style file written by hand with the raw HDF5 API: float64 actions, 6-D ee_states,
// variable-length string attribute, and 16x12 frames (resized on load).
TEST(DemoDatasetTest, ReadsForeignLiberoStyleFiles) {
  const std::string path = TempDir("libero") + "/KITCHEN_SCENE1_open_the_drawer_demo.hdf5";
  {
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t data = H5Gcreate2(file, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(data, "problem_info", str, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const char* info = "{\"problem_name\": \"libero_kitchen\", \"language_instruction\": \"open the top drawer\"}";
    H5Awrite(attr, str, &info);
    H5Aclose(attr);
    hid_t demo = H5Gcreate2(data, "demo_0", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t obs = H5Gcreate2(demo, "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    auto write = [](hid_t g, const char* name, hid_t type, std::vector<hsize_t> dims, const void* buf) {
      hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
      hid_t set = H5Dcreate2(g, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      H5Dclose(set);
      H5Sclose(space);
    };
    std::vector<double> actions(2 * 7, 0.5);
    std::vector<float> ee(2 * 6, 0.1f), grip(2 * 2, 0.02f);
    std::vector<uint8_t> frames(2 * 16 * 12 * 3, 200);
    write(demo, "actions", H5T_NATIVE_DOUBLE, {2, 7}, actions.data());
    write(obs, "ee_states", H5T_NATIVE_FLOAT, {2, 6}, ee.data());
    write(obs, "gripper_states", H5T_NATIVE_FLOAT, {2, 2}, grip.data());
    write(obs, "agentview_rgb", H5T_NATIVE_UINT8, {2, 16, 12, 3}, frames.data());
    H5Gclose(obs), H5Gclose(demo), H5Sclose(scalar), H5Tclose(str), H5Gclose(data), H5Fclose(file);
  }
  auto episodes = ReadTaskFile(path, 8);
  ASSERT_TRUE(episodes.ok()) << episodes.status();
  EXPECT_EQ((*episodes)[0].instruction, "open the top drawer");
  EXPECT_EQ((*episodes)[0].size, 8);
  EXPECT_EQ((*episodes)[0].frames[0], 200);
  EXPECT_FLOAT_EQ((*episodes)[0].actions[3], 0.5f);
  EXPECT_FLOAT_EQ((*episodes)[0].state(1)[6], 0.02f);
  auto unsized = ReadTaskFile(path, 0);
  EXPECT_FALSE(unsized.ok()) << "non-square frames need an explicit size";
}

TEST(DemoDatasetTest, MalformedFilesAreClearErrors) {
  const std::string dir = TempDir("bad");
  EXPECT_EQ(ReadTaskFile(dir + "/missing_demo.hdf5", 8).status().code(), absl::StatusCode::kNotFound);
  std::ofstream(dir + "/text_demo.hdf5") << "not hdf5";
  auto text = ReadTaskFile(dir + "/text_demo.hdf5", 8);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("not an HDF5 file"), std::string::npos);
  // Missing gripper_states.
  const std::string path = dir + "/partial_demo.hdf5";
  TaskDemos demos{"goal", "t", "do it", "{}", {MakeEpisode(2, 4, 0.f)}};
  ASSERT_TRUE(WriteTaskFile(path, demos).ok());
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(file, "data/demo_0/obs/gripper_states", H5P_DEFAULT);
    H5Fclose(file);
  }
  auto partial = ReadTaskFile(path, 4);
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.status().message().find("gripper_states"), std::string::npos) << partial.status();
  EXPECT_NE(partial.status().message().find("demo_0"), std::string::npos) << partial.status();
}

TEST(GenerateTest, WritesSuccessfulDemosAndStatistics) {
  const std::string dir = TempDir("generate");
  GenerateOptions options;
  options.out = dir;
  options.suites = {"goal"};
  options.demos_per_task = 2;
  options.image_size = 16;
  std::vector<std::string> lines;
  auto summary = GenerateDemos(options, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->tasks, 10);
  EXPECT_EQ(summary->demos, 20);
  EXPECT_EQ(lines.size(), 10u);
  EXPECT_TRUE(fs::exists(dir + "/dataset.json"));
  auto dataset = LoadDemoDirectory(dir, {"goal"}, 16);
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->episodes.size(), 20u);
  EXPECT_LE(dataset->actions.max[0], 1.0);
  EXPECT_GE(dataset->actions.min[0], -1.0);

  // Prompts: deterministic by index, within the training split, chunks padded at episode ends.
  auto sampler = PromptSampler::Create(&*dataset, 3, 0.2);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  auto val = PromptSampler::Create(&*dataset, 3, 0.2, /*validation_split=*/true);
  ASSERT_TRUE(val.ok());
  for (int64_t e : sampler->episodes()) {
    EXPECT_EQ(std::count(val->episodes().begin(), val->episodes().end(), e), 0);
  }
  const PromptSample a = sampler->Get(17, 16), b = sampler->Get(17, 16);
  EXPECT_EQ(a.episode, b.episode);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.expert_actions, b.expert_actions);
  EXPECT_EQ(a.expert_actions.size(), 16u * 7);
  EXPECT_EQ(a.expert_frames.size(), 16u * 16 * 16 * 3);
  EXPECT_FALSE(PromptSampler::Create(&*dataset, 3, 1.0).ok());
}

}  // namespace
}  // namespace vlarft::data
