#include "libs/rl/proprio_rollforward.h"

namespace vlarft::rl {

torch::Tensor RollProprioForward(const torch::Tensor& proprio, const torch::Tensor& chunk) {
  torch::NoGradGuard no_grad;
  const torch::Tensor actions = chunk.to(torch::kFloat32);
  torch::Tensor next = proprio.to(torch::kFloat32).clone();
  const torch::Tensor motion = actions.narrow(2, 0, 3).clamp(-1, 1).sum(1) * kProprioStepMetres;  // [B, 3]
  next.narrow(1, 0, 3).add_(motion);
  const torch::Tensor closed_now = actions.select(2, 6).select(1, actions.size(1) - 1) > 0;  // [B]
  const torch::Tensor was_closed = proprio.select(1, 6).abs() < 0.0399;
  // Open: ±0.04. Closed: keep the width if it was already closed, else 0 (unknown object width).
  torch::Tensor finger = torch::where(closed_now, torch::where(was_closed, proprio.select(1, 6).abs(),
                                                               torch::zeros_like(proprio.select(1, 6))),
                                      torch::full_like(proprio.select(1, 6), 0.04));
  next.select(1, 6).copy_(finger);
  next.select(1, 7).copy_(-finger);
  return next;
}

}  // namespace vlarft::rl
