#pragma once
// Augmentation of image minibatches on the device, as the CIFAR recipes do it: a crop of the
// image's size from the image padded by `pad` black pixels on every side, then a horizontal
// flip, each drawn per sample from the rank's own Philox stream. The draws are keyed by a
// counter the model advances once per training step (and a checkpoint carries), so a run, its
// restart and any thread count draw the same.
#include <olsgd/core/config.hpp>
#include <olsgd/core/rng.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/kernels/row_teams.hpp>

#include <cstdint>

namespace olsgd {

struct Augmentation {
  bool crop = false, flip = false;
  Index pad = 4;
  ImageDims dims;
  float fill[3] = {0, 0, 0};  // the padding per channel: a black pixel, normalised
  std::uint64_t seed = 1;
  std::uint32_t rank = 0;
  bool on() const { return crop || flip; }
};

// The deck's augmentation (data.augment, data.crop_padding) of `dims` images on this rank.
inline Augmentation augmentation(const Config& c, const ImageDims& dims, int rank) {
  Augmentation a;
  a.crop = c.data.augment == "crop_flip" || c.data.augment == "crop";
  a.flip = c.data.augment == "crop_flip" || c.data.augment == "flip";
  a.pad = c.data.crop_padding;
  a.dims = dims;
  const ImageNorm norm = image_norm(c.data.kind);
  for (Index ch = 0; ch < 3; ++ch) a.fill[ch] = norm.black(ch);
  a.seed = c.run.seed;
  a.rank = static_cast<std::uint32_t>(rank);
  return a;
}

// Sample s of draw `draw`: where the crop starts in the padded image (0..2 pad each way) and
// whether it is flipped.
struct AugmentDraw {
  Index dy = 0, dx = 0;
  bool flip = false;
};
KOKKOS_INLINE_FUNCTION AugmentDraw augment_draw(const Augmentation& a, std::uint64_t draw,
                                                Index s) {
  const CounterRng rng(a.seed, Stream::Augment, a.rank);
  const Philox4x32 r = rng.bits((draw << 32) | static_cast<std::uint64_t>(s));
  const auto n = static_cast<std::uint32_t>(2 * a.pad + 1);
  AugmentDraw d;
  d.dy = a.crop ? static_cast<Index>(r.v[0] % n) : a.pad;
  d.dx = a.crop ? static_cast<Index>(r.v[1] % n) : a.pad;
  d.flip = a.flip && (r.v[2] & 1u);
  return d;
}

// out(s, :) = the augmented image of row rows(s) of `features`, for s < n.
template <class Features, class Out>
void augment_rows(const ExecSpace& exec, const Features& features, const IndexVector& rows, Index n,
                  const Augmentation& a, std::uint64_t draw, const Out& out) {
  using Team = Kokkos::TeamPolicy<ExecSpace>;
  using Scalar = typename Out::non_const_value_type;
  const Index H = a.dims.height, W = a.dims.width, pad = a.pad;
  Kokkos::parallel_for(
      "olsgd::data::augment", kernels::row_teams(exec, n, a.dims.channels * H, W),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index s = t.league_rank(), r = rows(s);
        const AugmentDraw d = augment_draw(a, draw, s);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, a.dims.channels * H), [&](const Index cy) {
          const Index c = cy / H, y = cy % H, sy = y + d.dy - pad;
          const bool row_inside = sy >= 0 && sy < H;
          const Scalar fill = static_cast<Scalar>(a.fill[c]);
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, W), [&](const Index x) {
            const Index sx = (d.flip ? W - 1 - x : x) + d.dx - pad;
            out(s, cy * W + x) =
                row_inside && sx >= 0 && sx < W ? features(r, (c * H + sy) * W + sx) : fill;
          });
        });
      });
}

}  // namespace olsgd
