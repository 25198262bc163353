// The evaluator's Prometheus series: benchmark success of each policy version it evaluated, per
// suite ("all" = the paper's average over suites), with the 95% interval, next to the baseline
// (the policy RFT started from). The dashboard's success panels and the SuccessDropped alert read
// these; nothing else in the system measures success on a cluster.
#pragma once

#include <cstdint>

#include "libs/tabletop/report.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace vlarft::services {

class EvaluatorMetrics {
 public:
  explicit EvaluatorMetrics(prometheus::Registry& registry);
  // The baseline's report: vlarft_evaluator_base_success_ratio{suite}.
  void SetBaseline(const tabletop::EvalReport& report);
  // A learner version's report: vlarft_evaluator_success_ratio / _lower / _upper {suite}, the
  // evaluated version, and the evaluation and episode counters.
  void Record(int64_t version, const tabletop::EvalReport& report);
  void CountError() { errors_.Increment(); }

 private:
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& lower_;
  prometheus::Family<prometheus::Gauge>& upper_;
  prometheus::Family<prometheus::Gauge>& base_;
  prometheus::Gauge& version_;
  prometheus::Gauge& seconds_;
  prometheus::Counter& evaluations_;
  prometheus::Counter& episodes_;
  prometheus::Counter& errors_;
};

}  // namespace vlarft::services
