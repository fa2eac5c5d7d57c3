#include "io/crc32c.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace vindex::io {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 test vectors.
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(0, ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(0, "123456789", 9), 0xE3069283u);
}

TEST(Crc32c, HardwareAndPortableAgreeAndChain) {
  std::mt19937 rng(5);
  std::string data(1000, 0);
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t n : {0, 1, 7, 8, 9, 63, 1000}) {
    EXPECT_EQ(Crc32c(0, data.data(), n), Crc32cPortable(0, data.data(), n));
    for (size_t split = 0; split <= n; split += 13) {
      uint32_t c = Crc32c(0, data.data(), split);
      c = Crc32c(c, data.data() + split, n - split);
      EXPECT_EQ(c, Crc32cPortable(0, data.data(), n));
    }
  }
}

}  // namespace
}  // namespace vindex::io
