#include <olsgd/core/error.hpp>
#include <olsgd/io/metrics_csv.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace olsgd::io {

const char* MetricsCsv::header() {
  return "step,epoch,wall_s,lr,loss,full_loss,suboptimality,dist_opt,consensus,"
         "bytes_payload,bytes_wire,t_compute,t_comm,t_wait";
}

MetricsCsv::MetricsCsv(const std::string& path) : path_(path), out_(path, std::ios::trunc) {
  if (!out_)
    throw InputError(path, std::string("cannot write the metrics file: ") + std::strerror(errno));
  out_ << header() << "\n";
}

void MetricsCsv::write(const MetricsRow& r) {
  char buf[64];
  auto num = [&](double v) {
    if (std::isnan(v)) return std::string("nan");
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  out_ << r.step << ',' << num(r.epoch) << ',' << num(r.wall_s) << ',' << num(r.lr) << ','
       << num(r.loss) << ',' << num(r.full_loss) << ',' << num(r.suboptimality) << ','
       << num(r.dist_opt) << ',' << num(r.consensus) << ',' << num(r.bytes_payload) << ','
       << num(r.bytes_wire) << ',' << num(r.t_compute) << ',' << num(r.t_comm) << ','
       << num(r.t_wait) << '\n';
  out_.flush();  // a crashed or killed run keeps the rows it logged
}

}  // namespace olsgd::io
