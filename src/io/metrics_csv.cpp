#include <olsgd/io/metrics_csv.hpp>

#include <string>

namespace olsgd::io {

const char* MetricsCsv::header() {
  return "step,epoch,wall_s,lr,loss,full_loss,suboptimality,dist_opt,consensus,"
         "bytes_payload,bytes_wire,t_compute,t_comm,t_wait,t_peer,delay_injected,hidden_frac,test_"
         "loss,"
         "test_acc";
}

void MetricsCsv::write(const MetricsRow& r) {
  csv_.row({static_cast<double>(r.step), r.epoch, r.wall_s, r.lr, r.loss, r.full_loss,
            r.suboptimality, r.dist_opt, r.consensus, r.bytes_payload, r.bytes_wire, r.t_compute,
            r.t_comm, r.t_wait, r.t_peer, r.delay_injected, r.hidden_frac, r.test_loss,
            r.test_acc});
}

const char* SyncsCsv::header() {
  return "sync,step,t_compute,t_exposed,t_wait,t_peer,t_network,delay,hidden_frac,levels,"
         "local_steps";
}

void SyncsCsv::write(const SyncRecord& s) {
  // Each rank's local steps of a timed round, in rank order: "8;4" (empty for fixed rounds).
  std::string steps;
  for (int n : s.local_steps) steps += (steps.empty() ? "" : ";") + std::to_string(n);
  csv_.row({static_cast<double>(s.sync), static_cast<double>(s.step), s.t_compute, s.t_exposed,
            s.t_wait, s.t_peer, s.t_network, s.delay, s.hidden_frac(), s.levels},
           steps);
}

}  // namespace olsgd::io
