// Top-down renderer of a tabletop scene to RGB uint8 [size][size][3] at any size. Height cues make
// the gripper's z and lifted objects visible from above: things grow with height (perspective),
// cast a shadow offset by their height, and get brighter. 2x2 supersampling anti-aliases edges.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/tabletop/scene.h"

namespace vlarft::tabletop {

std::vector<uint8_t> RenderScene(const Scene& scene, int size);

}  // namespace vlarft::tabletop
