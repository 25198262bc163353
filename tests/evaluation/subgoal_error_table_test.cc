#include "libs/evaluation/subgoal_error_table.h"

#include "gtest/gtest.h"
#include "libs/tabletop/tasks.h"

namespace vlarft::evaluation {
namespace {

int FirstTaskOf(const std::string& suite) {
  for (const tabletop::Task& t : tabletop::AllTasks()) {
    if (t.suite == suite) return t.index;
  }
  return -1;
}

TEST(SubgoalErrorTableTest, MedianPercentileAndShareWithinTheGraspTolerancePerSuite) {
  SubgoalErrorTable table;
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Markdown(), "");
  int step = 0;
  for (double e : {0.01, 0.02, 0.05, 0.10}) table.Add(FirstTaskOf("object"), step++ % 2 == 0 ? 0 : 8, e);
  table.Add(FirstTaskOf("spatial"), 0, 0.2);
  const std::string md = table.Markdown();
  // Suites in benchmark order (spatial before object), then everything; first decisions are the
  // step-0 ones (object: 0.01 and 0.05, nearest-rank median 0.05).
  EXPECT_LT(md.find("| spatial | 20.0 | 0.0 | 1 | 20.0 | 20.0 | 0.0 |"), md.find("| object |")) << md;
  EXPECT_NE(md.find("| object | 5.0 | 50.0 | 4 | 5.0 | 10.0 | 50.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| **all** | 5.0 | 33.3 | 5 | 5.0 | 20.0 | 40.0 |"), std::string::npos) << md;
  table.Clear();
  EXPECT_TRUE(table.empty());
}

}  // namespace
}  // namespace vlarft::evaluation
