// Ground truth for one action chunk taken at a state of an expert episode: execute the chunk open
// loop in the real environment, then let the scripted expert finish the episode closed loop within
// the task's step budget. The outcome (solved? in how many steps?) is the value of the chunk for a
// policy that behaves like the expert afterwards.
//
// The expert keeps its waypoint plan across the chunk: before each chunk action it observes the
// state (ScriptedExpert::Act, whose action is discarded), so its phase tracks what the chunk did
// and its noise stream advances as if it had acted. Hence executing the expert's own chunk
// (ExpertChunk) reproduces the expert's uninterrupted episode exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "libs/tabletop/env.h"
#include "libs/tabletop/expert.h"

namespace vlarft::tabletop {

struct ChunkOutcome {
  bool success = false;  // solved within task().max_steps
  int steps = 0;         // environment steps when the episode ended (the solving step on success)
  // With render_size > 0: the frame after each chunk action, RGB [chunk][size][size][3].
  std::vector<uint8_t> frames;
};

// The expert's next `length` actions from (env, expert), deciding every step; with render_size > 0
// `frames` (optional) receives the frame after each, as in ChunkOutcome. Past the end of the
// episode the environment no longer moves; the expert's decisions there are still returned.
std::vector<Action> ExpertChunk(const TabletopEnv& env, const ScriptedExpert& expert, int length, int render_size = 0,
                                std::vector<uint8_t>* frames = nullptr);

// Copies env and expert, runs `chunk` then the expert to the end of the episode.
ChunkOutcome ExecuteChunkThenExpert(const TabletopEnv& env, const ScriptedExpert& expert,
                                    const std::vector<Action>& chunk, int render_size = 0);

}  // namespace vlarft::tabletop
