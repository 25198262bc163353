#include "libs/tabletop/render.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace vlarft::tabletop {
namespace {

struct Rgbf {
  float r, g, b;
};

Rgbf FromColor(const Color& c) { return {static_cast<float>(c.rgb[0]), static_cast<float>(c.rgb[1]), static_cast<float>(c.rgb[2])}; }
Rgbf Scale(Rgbf c, float k) { return {std::min(255.f, c.r * k), std::min(255.f, c.g * k), std::min(255.f, c.b * k)}; }

constexpr double kShadowShift = 0.35;  // metres of shadow offset per metre of height
constexpr double kPerspective = 1.1;   // apparent growth per metre of height

// Axis-aligned square / disc membership with the perspective scale applied.
bool InSquare(double px, double py, double cx, double cy, double half) {
  return std::abs(px - cx) <= half && std::abs(py - cy) <= half;
}
bool InDisc(double px, double py, double cx, double cy, double radius) {
  return (px - cx) * (px - cx) + (py - cy) * (py - cy) <= radius * radius;
}

// Colour of the scene at table point (x, y).
Rgbf Shade(const Scene& scene, const std::vector<int>& order, double x, double y) {
  // Table with faint 0.1 m tiles: a fixed spatial reference for the policy and the world model.
  const bool tile = (static_cast<int>(std::floor(x * 10)) + static_cast<int>(std::floor(y * 10))) & 1;
  Rgbf c = tile ? Rgbf{196, 180, 152} : Rgbf{186, 170, 143};

  for (const Receptacle& r : scene.receptacles) {
    const Rgbf base = FromColor(r.color);
    if (r.kind == ReceptacleKind::kBasket) {
      if (InSquare(x, y, r.x, r.y, r.radius + 0.012)) c = Scale(base, 0.7);
      if (InSquare(x, y, r.x, r.y, r.radius)) c = Scale(base, 1.05);
    } else {
      const double rim = r.kind == ReceptacleKind::kBowl ? 0.014 : 0.006;
      if (InDisc(x, y, r.x, r.y, r.radius + rim)) c = Scale(base, r.kind == ReceptacleKind::kBowl ? 0.65 : 0.85);
      if (InDisc(x, y, r.x, r.y, r.radius)) c = Scale(base, r.kind == ReceptacleKind::kBowl ? 1.1 : 1.0);
    }
  }

  // Shadows of everything above the floor it would rest on.
  const Gripper& g = scene.gripper;
  auto shadow = [&](double cx, double cy, double z, double radius) {
    if (InDisc(x, y, cx + kShadowShift * z, cy - kShadowShift * z, radius)) c = Scale(c, 0.72);
  };
  for (const Object& o : scene.objects) {
    if (o.z > 0.025) shadow(o.x, o.y, o.z, o.half_size);
  }
  shadow(g.x, g.y, g.z, 0.025);

  for (int i : order) {
    const Object& o = scene.objects[i];
    const double top = o.z + o.height;
    const double half = o.half_size * (1.0 + kPerspective * top);
    const Rgbf base = Scale(FromColor(o.color), static_cast<float>(0.8 + 1.2 * top));
    if (o.shape == Shape::kCube) {
      if (InSquare(x, y, o.x, o.y, half)) {
        c = InSquare(x, y, o.x, o.y, half * 0.75) ? base : Scale(base, 0.75);  // bevelled edge
      }
    } else if (InDisc(x, y, o.x, o.y, half)) {
      c = InDisc(x, y, o.x - half * 0.3, o.y + half * 0.3, half * 0.35) ? Scale(base, 1.25) : base;  // highlight
    }
  }

  // The gripper: a wrist disc and two fingers whose gap shows open/closed.
  const double s = 1.0 + kPerspective * g.z;
  double gap = 0.045;
  if (g.closed) gap = g.holding >= 0 ? scene.objects[g.holding].half_size + 0.006 : 0.012;
  const Rgbf metal = Scale(Rgbf{70, 72, 84}, static_cast<float>(0.8 + 1.5 * g.z));
  for (double side : {-1.0, 1.0}) {
    const double fx = g.x + side * (gap + 0.006) * s;
    if (std::abs(x - fx) <= 0.007 * s && std::abs(y - g.y) <= 0.022 * s) c = metal;
  }
  if (InDisc(x, y, g.x, g.y + 0.03 * s, 0.014 * s)) c = Scale(metal, 1.3);
  if (std::abs(x - g.x) <= (gap + 0.013) * s && std::abs(y - (g.y + 0.022 * s)) <= 0.004 * s) c = metal;
  return c;
}

}  // namespace

std::vector<uint8_t> RenderScene(const Scene& scene, int size) {
  std::vector<uint8_t> pixels(static_cast<size_t>(size) * size * 3);
  // Objects are painted bottom-up so stacked and carried ones cover what is below them.
  std::vector<int> order(scene.objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scene.objects[a].z < scene.objects[b].z; });
  const double metres_per_pixel = 2.0 * kHalfExtent / size;
  for (int row = 0; row < size; ++row) {
    for (int col = 0; col < size; ++col) {
      float r = 0, g = 0, b = 0;
      for (int sy = 0; sy < 2; ++sy) {
        for (int sx = 0; sx < 2; ++sx) {
          const double x = -kHalfExtent + (col + 0.25 + 0.5 * sx) * metres_per_pixel;
          const double y = kHalfExtent - (row + 0.25 + 0.5 * sy) * metres_per_pixel;
          const Rgbf c = Shade(scene, order, x, y);
          r += c.r, g += c.g, b += c.b;
        }
      }
      uint8_t* p = &pixels[(static_cast<size_t>(row) * size + col) * 3];
      p[0] = static_cast<uint8_t>(std::lround(r / 4));
      p[1] = static_cast<uint8_t>(std::lround(g / 4));
      p[2] = static_cast<uint8_t>(std::lround(b / 4));
    }
  }
  return pixels;
}

}  // namespace vlarft::tabletop
