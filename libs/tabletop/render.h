// Top-down renderer of a tabletop scene to RGB uint8 [size][size][3] (row-major; row 0 is the far
// edge of the table, +y) at any size >= 8. Height cues make the gripper's z and lifted objects
// visible from above: things grow with height (perspective), brighten, and cast a shadow offset by
// their height. Edges are anti-aliased analytically; frames are bit-identical across runs.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/tabletop/scene.h"

namespace vlarft::tabletop {

std::vector<uint8_t> RenderScene(const Scene& scene, int size);
// Same, into a caller-owned buffer of size * size * 3 bytes.
void RenderSceneInto(const Scene& scene, int size, uint8_t* out);

}  // namespace vlarft::tabletop
