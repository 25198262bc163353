#include "services/evaluator/evaluator_metrics.h"

namespace vlarft::services {
namespace {

prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

// suite -> value for the suites and "all" (the mean of the suite rates, as the paper reports).
template <typename Pick>
void SetPerSuite(prometheus::Family<prometheus::Gauge>& family, const tabletop::EvalReport& report, Pick pick) {
  for (const tabletop::EvalReport::Suite& suite : report.suites) family.Add({{"suite", suite.name}}).Set(pick(suite.success));
  family.Add({{"suite", "all"}}).Set(pick(report.average));
}

}  // namespace

EvaluatorMetrics::EvaluatorMetrics(prometheus::Registry& registry)
    : success_(GaugeFamily(registry, "vlarft_evaluator_success_ratio",
                           "Benchmark success rate of the newest evaluated policy version, per suite (all = mean of suites)")),
      lower_(GaugeFamily(registry, "vlarft_evaluator_success_lower", "Lower end of the 95% Wilson interval of the success rate")),
      upper_(GaugeFamily(registry, "vlarft_evaluator_success_upper", "Upper end of the 95% Wilson interval of the success rate")),
      base_(GaugeFamily(registry, "vlarft_evaluator_base_success_ratio",
                        "Success rate of the policy RFT started from, on the same episodes")),
      version_(GaugeFamily(registry, "vlarft_evaluator_policy_version", "Learner policy version last evaluated").Add({})),
      seconds_(GaugeFamily(registry, "vlarft_evaluator_evaluation_seconds", "Duration of the last evaluation").Add({})),
      evaluations_(prometheus::BuildCounter()
                       .Name("vlarft_evaluator_evaluations_total")
                       .Help("Policy versions evaluated")
                       .Register(registry)
                       .Add({})),
      episodes_(prometheus::BuildCounter()
                    .Name("vlarft_evaluator_episodes_total")
                    .Help("Benchmark episodes run")
                    .Register(registry)
                    .Add({})),
      errors_(prometheus::BuildCounter()
                  .Name("vlarft_evaluator_errors_total")
                  .Help("Failed weight fetches and evaluations")
                  .Register(registry)
                  .Add({})) {}

void EvaluatorMetrics::SetBaseline(const tabletop::EvalReport& report) {
  SetPerSuite(base_, report, [](const tabletop::Interval& i) { return i.rate; });
}

void EvaluatorMetrics::Record(int64_t version, const tabletop::EvalReport& report) {
  SetPerSuite(success_, report, [](const tabletop::Interval& i) { return i.rate; });
  SetPerSuite(lower_, report, [](const tabletop::Interval& i) { return i.low; });
  SetPerSuite(upper_, report, [](const tabletop::Interval& i) { return i.high; });
  version_.Set(static_cast<double>(version));
  seconds_.Set(report.seconds);
  evaluations_.Increment();
  int64_t episodes = 0;
  for (const tabletop::EvalReport::Suite& suite : report.suites) episodes += suite.episodes;
  episodes_.Increment(static_cast<double>(episodes));
}

}  // namespace vlarft::services
