#include "libs/tabletop/render.h"

#include <algorithm>
#include <cmath>

namespace vlarft::tabletop {
namespace {

constexpr double kShadowShift = 0.35;  // metres of shadow offset per metre of height (light from top-left)
constexpr double kPerspective = 1.1;   // apparent growth per metre of height
constexpr float kShadowAlpha = 0.3f;

struct Rgbf {
  float r, g, b;
};

Rgbf FromColor(const Color& c) {
  return {static_cast<float>(c.rgb[0]), static_cast<float>(c.rgb[1]), static_cast<float>(c.rgb[2])};
}
Rgbf Scale(Rgbf c, float k) { return {std::min(255.f, c.r * k), std::min(255.f, c.g * k), std::min(255.f, c.b * k)}; }

// A float RGB raster in which primitives are painted back to front. Only the pixels inside a
// primitive's bounding box are touched, so a 64x64 frame costs a few microseconds; edges are
// anti-aliased with the analytic pixel coverage of discs and axis-aligned boxes. Only +, -, *, /,
// sqrt and comparisons are used, so frames are bit-identical across runs and IEEE platforms.
class Canvas {
 public:
  explicit Canvas(int size)
      : size_(size), pixels_per_metre_(size / (2.0 * kHalfExtent)), rgb_(static_cast<size_t>(size) * size * 3) {}

  // The table: 0.1 m checker tiles (exact coverage, so any size looks the same) under a soft
  // light from the top-left, darker towards the corners.
  void Table() {
    // Per column/row: the fraction of the pixel lying on an even tile along that axis.
    std::vector<float> even_x(size_), even_y(size_);
    for (int i = 0; i < size_; ++i) {
      even_x[i] = EvenTileFraction(-kHalfExtent + i / pixels_per_metre_, -kHalfExtent + (i + 1) / pixels_per_metre_);
      even_y[i] = EvenTileFraction(kHalfExtent - (i + 1) / pixels_per_metre_, kHalfExtent - i / pixels_per_metre_);
    }
    const Rgbf light{197, 181, 153}, dark{185, 169, 142};
    for (int row = 0; row < size_; ++row) {
      const double y = (kHalfExtent - (row + 0.5) / pixels_per_metre_) / kHalfExtent;
      for (int col = 0; col < size_; ++col) {
        const double x = (-kHalfExtent + (col + 0.5) / pixels_per_metre_) / kHalfExtent;
        const float ex = even_x[col], ey = even_y[row];
        const float odd = ex * (1 - ey) + (1 - ex) * ey;  // tiles alternate like a chessboard
        const float shade = static_cast<float>(1.0 - 0.07 * (x * x + y * y) - 0.03 * (x - y));
        float* p = &rgb_[(static_cast<size_t>(row) * size_ + col) * 3];
        p[0] = (light.r + (dark.r - light.r) * odd) * shade;
        p[1] = (light.g + (dark.g - light.g) * odd) * shade;
        p[2] = (light.b + (dark.b - light.b) * odd) * shade;
      }
    }
  }

  void Disc(double x, double y, double radius, Rgbf c, float alpha = 1.f) {
    const double cx = Col(x), cy = Row(y), r = radius * pixels_per_metre_;
    ForBox(cx, cy, r, r, [&](int col, int row) {
      const double dx = col - cx, dy = row - cy;
      const double coverage = std::clamp(r - std::sqrt(dx * dx + dy * dy) + 0.5, 0.0, 1.0);
      Blend(col, row, c, alpha * static_cast<float>(coverage));
    });
  }

  void Box(double x, double y, double half_x, double half_y, Rgbf c, float alpha = 1.f) {
    const double cx = Col(x), cy = Row(y), hx = half_x * pixels_per_metre_, hy = half_y * pixels_per_metre_;
    ForBox(cx, cy, hx, hy, [&](int col, int row) {
      const double coverage = std::clamp(hx - std::abs(col - cx) + 0.5, 0.0, 1.0) *
                              std::clamp(hy - std::abs(row - cy) + 0.5, 0.0, 1.0);
      Blend(col, row, c, alpha * static_cast<float>(coverage));
    });
  }

  void ToBytes(uint8_t* out) const {
    for (size_t i = 0; i < rgb_.size(); ++i) out[i] = static_cast<uint8_t>(std::clamp(rgb_[i], 0.f, 255.f) + 0.5f);
  }

 private:
  // Pixel-centre coordinates: pixel (col, row) has its centre at (col, row).
  double Col(double x) const { return (x + kHalfExtent) * pixels_per_metre_ - 0.5; }
  double Row(double y) const { return (kHalfExtent - y) * pixels_per_metre_ - 0.5; }

  static float EvenTileFraction(double lo, double hi) {
    constexpr double kTile = 0.1;
    auto even = [](double v) { return (static_cast<long>(std::floor(v / kTile)) & 1) == 0; };
    const double boundary = (std::floor(lo / kTile) + 1) * kTile;
    if (boundary >= hi) return even(lo) ? 1.f : 0.f;
    const float first = static_cast<float>((boundary - lo) / (hi - lo));
    return even(lo) ? first : 1.f - first;  // a pixel never spans more than two tiles (size >= 8)
  }

  template <typename Fn>
  void ForBox(double cx, double cy, double hx, double hy, Fn fn) {
    const int c0 = std::max(0, static_cast<int>(std::floor(cx - hx - 1))), c1 = std::min(size_ - 1, static_cast<int>(std::ceil(cx + hx + 1)));
    const int r0 = std::max(0, static_cast<int>(std::floor(cy - hy - 1))), r1 = std::min(size_ - 1, static_cast<int>(std::ceil(cy + hy + 1)));
    for (int row = r0; row <= r1; ++row) {
      for (int col = c0; col <= c1; ++col) fn(col, row);
    }
  }

  void Blend(int col, int row, Rgbf c, float a) {
    if (a <= 0.f) return;
    float* p = &rgb_[(static_cast<size_t>(row) * size_ + col) * 3];
    p[0] += (c.r - p[0]) * a;
    p[1] += (c.g - p[1]) * a;
    p[2] += (c.b - p[2]) * a;
  }

  int size_;
  double pixels_per_metre_;
  std::vector<float> rgb_;
};

void DrawReceptacle(Canvas& canvas, const Receptacle& r) {
  const Rgbf base = FromColor(r.color);
  switch (r.kind) {
    case ReceptacleKind::kPlate:  // flat disc with a thin rim and a slightly sunken centre
      canvas.Disc(r.x, r.y, r.radius + 0.006, Scale(base, 0.82f));
      canvas.Disc(r.x, r.y, r.radius, base);
      canvas.Disc(r.x, r.y, r.radius * 0.68, Scale(base, 0.94f));
      break;
    case ReceptacleKind::kBowl:  // thick dark rim, lit wall, darker bottom: reads as a hollow from above
      canvas.Disc(r.x, r.y, r.radius + 0.014, Scale(base, 0.62f));
      canvas.Disc(r.x, r.y, r.radius, Scale(base, 1.12f));
      canvas.Disc(r.x, r.y, r.radius * 0.6, Scale(base, 0.88f));
      break;
    case ReceptacleKind::kBasket:  // square crate: dark frame, lighter floor with a woven grid
      canvas.Box(r.x, r.y, r.radius + 0.012, r.radius + 0.012, Scale(base, 0.68f));
      canvas.Box(r.x, r.y, r.radius, r.radius, Scale(base, 1.05f));
      for (double k : {-0.5, 0.0, 0.5}) {
        canvas.Box(r.x + k * r.radius, r.y, 0.003, r.radius, Scale(base, 0.9f));
        canvas.Box(r.x, r.y + k * r.radius, r.radius, 0.003, Scale(base, 0.9f));
      }
      break;
  }
}

void DrawObject(Canvas& canvas, const Object& o) {
  const double top = o.z + o.height;
  const double half = o.half_size * (1.0 + kPerspective * top);
  const Rgbf base = Scale(FromColor(o.color), static_cast<float>(0.8 + 1.2 * top));
  if (o.shape == Shape::kCube) {  // bevelled square: darker sides around a lit top face
    canvas.Box(o.x, o.y, half, half, Scale(base, 0.72f));
    canvas.Box(o.x, o.y, half * 0.74, half * 0.74, base);
  } else {  // disc with a dark rim and a specular highlight towards the light
    canvas.Disc(o.x, o.y, half, Scale(base, 0.78f));
    canvas.Disc(o.x, o.y, half * 0.8, base);
    canvas.Disc(o.x - half * 0.3, o.y + half * 0.3, half * 0.3, Scale(base, 1.3f));
  }
}

// A wrist disc, a palm bar and two fingers whose gap shows open/closed; everything grows and
// brightens with height.
void DrawGripper(Canvas& canvas, const Scene& scene) {
  const Gripper& g = scene.gripper;
  const double s = 1.0 + kPerspective * g.z;
  double gap = 0.045;
  if (g.closed) gap = g.holding >= 0 ? scene.objects[g.holding].half_size + 0.006 : 0.012;
  const Rgbf metal = Scale(Rgbf{70, 72, 84}, static_cast<float>(0.8 + 1.5 * g.z));
  for (double side : {-1.0, 1.0}) canvas.Box(g.x + side * (gap + 0.006) * s, g.y, 0.007 * s, 0.022 * s, metal);
  canvas.Box(g.x, g.y + 0.022 * s, (gap + 0.013) * s, 0.004 * s, metal);
  canvas.Disc(g.x, g.y + 0.03 * s, 0.014 * s, Scale(metal, 1.3f));
}

}  // namespace

std::vector<uint8_t> RenderScene(const Scene& scene, int size) {
  std::vector<uint8_t> pixels(static_cast<size_t>(size) * size * 3);
  RenderSceneInto(scene, size, pixels.data());
  return pixels;
}

void RenderSceneInto(const Scene& scene, int size, uint8_t* out) {
  Canvas canvas(size);
  canvas.Table();
  for (const Receptacle& r : scene.receptacles) DrawReceptacle(canvas, r);
  // Shadows of what is above its support height, then objects bottom-up so stacked and carried
  // ones cover what is below them, then the gripper on top.
  const Rgbf black{0, 0, 0};
  for (const Object& o : scene.objects) {
    if (o.z > 0.025) canvas.Disc(o.x + kShadowShift * o.z, o.y - kShadowShift * o.z, o.half_size, black, kShadowAlpha);
  }
  const Gripper& g = scene.gripper;
  canvas.Disc(g.x + kShadowShift * g.z, g.y - kShadowShift * g.z, 0.025, black, kShadowAlpha);
  std::vector<int> order(scene.objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scene.objects[a].z < scene.objects[b].z; });
  for (int i : order) DrawObject(canvas, scene.objects[i]);
  DrawGripper(canvas, scene);
  canvas.ToBytes(out);
}

}  // namespace vlarft::tabletop
