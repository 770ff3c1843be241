// Crops and flips of training images (data/augment.hpp): every pixel of a batch against a host
// construction of the padded, cropped and flipped image; every offset and both flips drawn;
// the same draw counter draws the same, the next one not.
#include <olsgd/data/augment.hpp>

#include <gtest/gtest.h>

#include <set>
#include <tuple>
#include <vector>

namespace {

using olsgd::Augmentation;
using olsgd::Index;

constexpr Index kC = 2, kH = 5, kW = 6, kRows = 7;

Augmentation crop_flip(Index pad) {
  Augmentation a;
  a.crop = a.flip = true;
  a.pad = pad;
  a.dims = {kC, kH, kW};
  a.fill[0] = -1.5f, a.fill[1] = -2.5f;
  a.seed = 11, a.rank = 3;
  return a;
}

// Image r, pixel (c, y, x): distinct and never a fill value.
float pixel(Index r, Index c, Index y, Index x) {
  return static_cast<float>(1000 * r + 100 * c + 10 * y + x);
}

// The batch `rows` augmented on the device with draw counter `draw`.
std::vector<float> augmented(const Augmentation& a, const std::vector<Index>& rows,
                             std::uint64_t draw) {
  Kokkos::View<float**, Kokkos::LayoutRight, olsgd::MemSpace> features("f", kRows, kC * kH * kW);
  auto hf = Kokkos::create_mirror_view(features);
  for (Index r = 0; r < kRows; ++r)
    for (Index c = 0; c < kC; ++c)
      for (Index y = 0; y < kH; ++y)
        for (Index x = 0; x < kW; ++x) hf(r, (c * kH + y) * kW + x) = pixel(r, c, y, x);
  Kokkos::deep_copy(features, hf);
  const Index n = static_cast<Index>(rows.size());
  olsgd::IndexVector batch("batch", n);
  auto hb = Kokkos::create_mirror_view(batch);
  for (Index s = 0; s < n; ++s) hb(s) = rows[s];
  Kokkos::deep_copy(batch, hb);
  Kokkos::View<float**, Kokkos::LayoutRight, olsgd::MemSpace> out("out", n, kC * kH * kW);
  olsgd::augment_rows(olsgd::ExecSpace(), features, batch, n, a, draw, out);
  auto ho = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  return std::vector<float>(ho.data(), ho.data() + ho.size());
}

TEST(augment, every_pixel_is_the_padded_image_cropped_then_flipped) {
  const Augmentation a = crop_flip(2);
  const std::vector<Index> rows = {4, 0, 4, 6, 1, 2, 5, 3, 4};
  const std::vector<float> got = augmented(a, rows, 9);
  const Index P = 2 * a.pad;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    const olsgd::AugmentDraw d = olsgd::augment_draw(a, 9, static_cast<Index>(s));
    ASSERT_GE(d.dy, 0);
    ASSERT_LE(d.dy, P);
    ASSERT_GE(d.dx, 0);
    ASSERT_LE(d.dx, P);
    for (Index c = 0; c < kC; ++c) {
      // The image in a frame of `pad` fill pixels, as torchvision's RandomCrop(padding) pads.
      std::vector<float> padded((kH + P) * (kW + P), a.fill[c]);
      for (Index y = 0; y < kH; ++y)
        for (Index x = 0; x < kW; ++x)
          padded[(y + a.pad) * (kW + P) + x + a.pad] = pixel(rows[s], c, y, x);
      for (Index y = 0; y < kH; ++y)
        for (Index x = 0; x < kW; ++x) {
          const Index cx = d.flip ? kW - 1 - x : x;  // the flip of the crop
          const float want = padded[(y + d.dy) * (kW + P) + cx + d.dx];
          ASSERT_EQ(got[(s * kC + c) * kH * kW + y * kW + x], want)
              << "sample " << s << " channel " << c << " y " << y << " x " << x;
        }
    }
  }
}

TEST(augment, draws_cover_every_offset_and_both_flips_and_repeat_exactly) {
  const Augmentation a = crop_flip(1);
  std::set<std::tuple<Index, Index, bool>> seen;
  for (std::uint64_t draw = 0; draw < 40; ++draw)
    for (Index s = 0; s < 8; ++s) {
      const auto d = olsgd::augment_draw(a, draw, s);
      seen.insert({d.dy, d.dx, d.flip});
    }
  EXPECT_EQ(seen.size(), 18u);  // 3 x 3 offsets x 2
  const std::vector<Index> rows = {0, 1, 2, 3, 4, 5, 6};
  EXPECT_EQ(augmented(a, rows, 5), augmented(a, rows, 5));
  EXPECT_NE(augmented(a, rows, 5), augmented(a, rows, 6));
  Augmentation other_rank = a;
  other_rank.rank = 4;
  EXPECT_NE(augmented(a, rows, 5), augmented(other_rank, rows, 5));
}

TEST(augment, flip_alone_keeps_the_frame_and_crop_alone_never_flips) {
  Augmentation flip = crop_flip(3), crop = crop_flip(3);
  flip.crop = false, crop.flip = false;
  for (Index s = 0; s < 64; ++s) {
    const auto f = olsgd::augment_draw(flip, 2, s);
    EXPECT_EQ(f.dy, 3);  // the crop at the centre: the image itself
    EXPECT_EQ(f.dx, 3);
    EXPECT_FALSE(olsgd::augment_draw(crop, 2, s).flip);
  }
}

}  // namespace
