#include "libs/tabletop/chunk_outcome.h"

namespace vlarft::tabletop {
namespace {

void AppendFrame(const TabletopEnv& env, int size, std::vector<uint8_t>* frames) {
  const size_t offset = frames->size();
  frames->resize(offset + static_cast<size_t>(size) * size * 3);
  env.RenderInto(size, frames->data() + offset);
}

}  // namespace

std::vector<Action> ExpertChunk(const TabletopEnv& env, const ScriptedExpert& expert, int length, int render_size,
                                std::vector<uint8_t>* frames) {
  TabletopEnv e = env;
  ScriptedExpert x = expert;
  std::vector<Action> chunk;
  for (int t = 0; t < length; ++t) {
    chunk.push_back(x.Act(e));
    e.Step(chunk.back());
    if (render_size > 0 && frames != nullptr) AppendFrame(e, render_size, frames);
  }
  return chunk;
}

ChunkOutcome ExecuteChunkThenExpert(const TabletopEnv& env, const ScriptedExpert& expert,
                                    const std::vector<Action>& chunk, int render_size) {
  TabletopEnv e = env;
  ScriptedExpert x = expert;
  ChunkOutcome out;
  for (const Action& action : chunk) {
    x.Act(e);  // observe: keeps the expert's plan and noise stream in step with the episode
    e.Step(action);
    if (render_size > 0) AppendFrame(e, render_size, &out.frames);
  }
  while (!e.done()) e.Step(x.Act(e));
  out.success = e.success();
  out.steps = e.steps();
  return out;
}

}  // namespace vlarft::tabletop
