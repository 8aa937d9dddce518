#include "apps/daicho/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace daicho::cli {
namespace {

TEST(ProgressBarTest, DisabledBarWritesNothing) {
  ProgressBar bar("importing", 10, nullptr);
  bar.Update(5);
  bar.Finish();
  SUCCEED();
}

TEST(ProgressBarTest, RedrawsOnlyWhenThePercentageChanges) {
  std::ostringstream out;
  {
    ProgressBar bar("importing", 1000, &out);
    for (uint64_t i = 0; i <= 1000; ++i) bar.Update(i);
  }
  std::string text = out.str();
  // 0%..100%: 101 redraws, each starting with '\r', then one final newline.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 101);
  EXPECT_TRUE(text.ends_with("100% 1000/1000\n")) << text;
}

TEST(ProgressBarTest, DetailFollowsTheCountAndClearsTheLineEnd) {
  std::ostringstream out;
  {
    ProgressBar bar("sync", 4, &out);
    bar.Update(2, "up 1.5 MiB, down 0 B");
    bar.Update(2, "up 9.9 MiB, down 0 B");  // same percentage: no redraw
  }
  EXPECT_EQ(out.str(), "\rsync [###############               ] 50% 2/4  up 1.5 MiB, down 0 B\x1b[K\n");
}

TEST(ProgressBarTest, FinishWithoutDrawingPrintsNoNewline) {
  std::ostringstream out;
  { ProgressBar bar("x", 0, &out); }
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace daicho::cli
