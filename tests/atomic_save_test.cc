// SaveIndexToFile is atomic: a process killed at any moment while saving
// leaves the old file or the new one at the path, never a torn one.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "test_util.h"
#include "vindex/index.h"

namespace vindex {
namespace {

std::unique_ptr<Index> MakeFilled(int64_t n, int d, uint64_t seed) {
  auto index = MakeIndex("Flat", d).value();
  auto v = testing::RandomVectors(n, d, seed);
  EXPECT_TRUE(index
                  ->Add(MatrixView<const float>(v.data(), n, d),
                        testing::SequentialIds(n))
                  .ok());
  return index;
}

TEST(AtomicSave, KilledWriterLeavesOldOrNewFile) {
  const int d = 64;
  auto small = MakeFilled(100, d, 1);
  auto large = MakeFilled(50000, d, 2);  // ~13 MB: a save takes a while.
  const std::string path = ::testing::TempDir() + "/atomic_save.vindex";
  ASSERT_TRUE(SaveIndexToFile(*small, path).ok());
  int saw_old = 0, saw_new = 0;
  for (int round = 0; round < 12; ++round) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Alternate the two contents forever until killed.
      for (int i = 0;; ++i)
        (void)SaveIndexToFile(i % 2 ? *small : *large, path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3 + 90 * round));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    auto loaded = LoadIndexFromFile(path);
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.status();
    const int64_t size = (*loaded)->info().size;
    ASSERT_TRUE(size == 100 || size == 50000) << size;
    (size == 100 ? saw_old : saw_new)++;
  }
  EXPECT_EQ(saw_old + saw_new, 12);
  std::printf("loads after kill: %d small, %d large\n", saw_old, saw_new);
  // A killed save leaves its temporary file behind (never the target).
  for (const auto& entry :
       std::filesystem::directory_iterator(::testing::TempDir())) {
    if (entry.path().filename().string().starts_with(
            "atomic_save.vindex.tmp.")) {
      std::filesystem::remove(entry.path());
    }
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace vindex
