// inventoryctl: the command line of the inventory service. Two families of
// subcommands, this file only dispatching to them (docs/inventoryctl.md):
//
// Client subcommands (tools/ctl_client.h): gRPC to a running inventoryd at
// --server: item, warehouse, stock, reserve, commit, release, levels,
// reservation get, watch, import --items|--counts, seed --demo.
//
// Log subcommands: replay the event log for audits and reports. Read only:
// the embedded log and the read models are opened as RocksDB secondary
// instances and Kafka as a read-only consumer, so they are safe against a
// live inventoryd.
//   inventoryctl audit [--json] [--no-views]
//   inventoryctl as-of TIME|POSITIONS [--sku S]... [--warehouse W]... [--format text|csv|jsonl]
//   inventoryctl history --sku S [--since T] [--until T] [--format text|csv|jsonl]
//   inventoryctl export --format csv|jsonl [--what events|levels] [--output FILE]
//   inventoryctl verify-log [--json]
// with the log flags of `inventoryd serve` (--data-dir, --log-backend,
// --kafka-brokers, --kafka-topic, --partitions) before or after the command.
//
// Exit status: 0 ok / clean; 1 refused by the service, or findings (audit or
// verify-log failed, undecodable records skipped by export); 2 bad usage or
// input, or the log/read models could not be read; 3 service unreachable.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "base/status.h"
#include "eventlog/event_log.h"
#include "eventlog/open_log.h"
#include "replay/audit.h"
#include "replay/fold.h"
#include "replay/format.h"
#include "replay/progress.h"
#include "replay/rows.h"
#include "replay/verify.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"
#include "tools/ctl_client.h"
#include "tools/ctl_views.h"

namespace {

constexpr int kExitFindings = 1;
constexpr int kExitError = 2;

struct LogFlags {
  eventlog::LogConfig log = ReadOnly();  // --data-dir, --kafka-brokers, --kafka-topic, --partitions
  std::string log_backend{eventlog::ToString(eventlog::LogConfig{}.backend)};
  std::string progress = "auto";

  // Read-only beside a live inventoryd; partitions 0: the embedded log's recorded count.
  static eventlog::LogConfig ReadOnly() {
    eventlog::LogConfig config;
    config.access = eventlog::LogAccess::kReadOnly;
    config.partitions = 0;
    return config;
  }
};

void AddLogFlags(CLI::App& app, LogFlags& f) {
  app.add_option("--data-dir", f.log.data_dir, "Data dir of inventoryd: the log in <dir>/log, read models in <dir>/views")
      ->envname("INVENTORY_DATA_DIR")->capture_default_str();
  app.add_option("--log-backend", f.log_backend, "Event log: embedded (RocksDB in --data-dir) or kafka")
      ->envname("INVENTORY_LOG_BACKEND")->check(CLI::IsMember(eventlog::LogBackendNames()))->capture_default_str();
  app.add_option("--kafka-brokers", f.log.kafka_brokers, "Kafka bootstrap servers, host:port[,...] (kafka backend)")
      ->envname("INVENTORY_KAFKA_BROKERS");
  app.add_option("--kafka-topic", f.log.kafka_topic, "Kafka topic of the event log")
      ->envname("INVENTORY_KAFKA_TOPIC")->capture_default_str();
  app.add_option("--partitions", f.log.partitions,
                 "Partitions of the log (0: the embedded log's recorded count; 8 for kafka)")
      ->envname("INVENTORY_PARTITIONS")->check(CLI::Range(0, 1024))->capture_default_str();
  app.add_option("--progress", f.progress, "Progress bar on stderr: auto (when stderr is a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "inventoryctl: %s\n", status.ToString().c_str());
  return kExitError;
}

absl::StatusOr<std::unique_ptr<eventlog::EventLog>> OpenLog(const LogFlags& f) { return eventlog::OpenLog(f.log); }

replay::ProgressMode ProgressModeOf(const LogFlags& f) {
  if (f.progress == "always") return replay::ProgressMode::kOn;
  if (f.progress == "never") return replay::ProgressMode::kOff;
  return replay::IsTerminal(stderr) ? replay::ProgressMode::kOn : replay::ProgressMode::kOff;
}

// Fold options that drive `bar`.
replay::FoldOptions WithProgress(replay::ProgressBar& bar) {
  replay::FoldOptions options;
  options.progress = [&bar](const replay::FoldProgress& p) { bar.Update(p.records_done, p.records_total); };
  return options;
}

void PrintViolations(const replay::FoldResult& result) {
  for (const replay::Violation& v : result.violations) {
    std::fprintf(stderr, "inventoryctl: %u:%llu %s%s%s: %s\n", v.position.partition,
                 static_cast<unsigned long long>(v.position.offset), std::string(replay::ToString(v.kind)).c_str(),
                 v.event_id.empty() ? "" : " event ", v.event_id.c_str(), v.what.c_str());
  }
  if (result.violations_total > result.violations.size()) {
    std::fprintf(stderr, "inventoryctl: ... %llu more violations (run audit)\n",
                 static_cast<unsigned long long>(result.violations_total - result.violations.size()));
  }
}

struct AuditFlags {
  bool json = false;
  bool no_views = false;
  size_t examples = 20;
};

int RunAudit(const LogFlags& f, const AuditFlags& a) {
  // The views first: their applied offsets are where the log is folded to.
  auto log = OpenLog(f);
  if (!log.ok()) return Fail(log.status());
  std::unique_ptr<ctl::ViewsHandle> views;
  if (!a.no_views) {
    auto opened = ctl::OpenViews((std::filesystem::path(f.log.data_dir) / "views").string(), (*log)->partition_count());
    if (!opened.ok()) return Fail(opened.status());
    views = std::move(*opened);
  }
  replay::ProgressBar bar(stderr, ProgressModeOf(f), "audit");
  replay::AuditOptions options;
  options.examples_max = a.examples;
  options.fold = WithProgress(bar);
  absl::StatusOr<replay::AuditReport> report =
      replay::Audit(**log, views ? &views->snapshot() : nullptr, std::move(options));
  bar.Finish();
  if (!report.ok()) return Fail(report.status());
  const std::string text = a.json ? replay::FormatAuditJson(*report) : replay::FormatAuditText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return report->clean() ? 0 : kExitFindings;
}

struct AsOfFlags {
  std::string at;
  std::vector<std::string> skus;
  std::vector<std::string> warehouses;
  std::string format = "text";
};

int RunAsOf(const LogFlags& f, const AsOfFlags& a) {
  absl::StatusOr<replay::TableFormat> format = replay::ParseTableFormat(a.format);
  if (!format.ok()) return Fail(format.status());
  auto log = OpenLog(f);
  if (!log.ok()) return Fail(log.status());
  replay::FoldBounds bounds;
  absl::StatusOr<ledger::TimeMs> time = replay::ParseTime(a.at);
  std::string described;
  if (time.ok()) {
    bounds.until_time_ms = *time;
    described = replay::FormatTime(*time);
  } else if (a.at.find(':') != std::string::npos && a.at.find('-') == std::string::npos) {
    absl::StatusOr<base::NextOffsets> until = replay::ParsePositions(a.at, (*log)->partition_count());
    if (!until.ok()) return Fail(until.status());
    bounds.until_offsets = *until;
    described = "positions " + a.at;
  } else {
    return Fail(absl::InvalidArgumentError(std::string(time.status().message()) +
                                           "; or give positions as partition:offset[,...]"));
  }
  // A SKU's levels and reservation lines all live in its partition.
  for (const std::string& sku : a.skus) bounds.partitions.push_back(eventlog::PartitionFor(sku, (*log)->partition_count()));
  std::sort(bounds.partitions.begin(), bounds.partitions.end());
  bounds.partitions.erase(std::unique(bounds.partitions.begin(), bounds.partitions.end()), bounds.partitions.end());

  replay::ProgressBar bar(stderr, ProgressModeOf(f), "as-of");
  replay::Folder folder(WithProgress(bar));
  absl::Status run = folder.Run(**log, bounds);
  bar.Finish();
  if (!run.ok()) return Fail(run);
  PrintViolations(folder.result());
  const replay::RowFilter filter{a.skus, a.warehouses};
  if (*format == replay::TableFormat::kText) {
    std::printf("as of %s: %llu events folded\nlevels:\n", described.c_str(),
                static_cast<unsigned long long>(folder.result().events_applied));
  }
  {
    replay::RowWriter levels(stdout, *format, replay::LevelColumns());
    replay::WriteLevels(folder.state(), filter, levels);
  }
  std::printf(*format == replay::TableFormat::kText ? "open reservations:\n"
              : *format == replay::TableFormat::kCsv ? "\n"
                                                      : "");
  {
    replay::RowWriter open(stdout, *format, replay::OpenReservationColumns());
    replay::WriteOpenReservations(folder.state(), filter, open);
  }
  std::printf(*format == replay::TableFormat::kText ? "sales blocks:\n"
              : *format == replay::TableFormat::kCsv ? "\n"
                                                      : "");
  replay::RowWriter blocks(stdout, *format, replay::SalesBlockColumns());
  replay::WriteSalesBlocks(folder.state(), filter, blocks);
  return folder.result().violations_total == 0 ? 0 : kExitFindings;
}

struct HistoryFlags {
  std::string sku;
  std::string since;
  std::string until;
  std::string format = "text";
};

int RunHistory(const LogFlags& f, const HistoryFlags& h) {
  absl::StatusOr<replay::TableFormat> format = replay::ParseTableFormat(h.format);
  if (!format.ok()) return Fail(format.status());
  ledger::TimeMs since = ledger::TimeMs::min();
  replay::FoldBounds bounds;
  if (!h.since.empty()) {
    absl::StatusOr<ledger::TimeMs> t = replay::ParseTime(h.since);
    if (!t.ok()) return Fail(absl::InvalidArgumentError("--since: " + std::string(t.status().message())));
    since = *t;
  }
  if (!h.until.empty()) {
    absl::StatusOr<ledger::TimeMs> t = replay::ParseTime(h.until);
    if (!t.ok()) return Fail(absl::InvalidArgumentError("--until: " + std::string(t.status().message())));
    bounds.until_time_ms = *t - ledger::DurationMs{1};  // --until is exclusive
  }
  auto log = OpenLog(f);
  if (!log.ok()) return Fail(log.status());
  bounds.partitions = {eventlog::PartitionFor(h.sku, (*log)->partition_count())};
  replay::ProgressBar bar(stderr, ProgressModeOf(f), "history");
  // Text shows the columns a person reads; csv and jsonl carry every column.
  std::vector<size_t> shown;
  std::vector<std::string> columns;
  for (size_t i = 0; i < replay::HistoryColumns().size(); ++i) {
    const std::string& c = replay::HistoryColumns()[i];
    static const std::vector<std::string> kText = {"occurred_at", "partition", "offset", "kind", "warehouse",
                                                   "other_warehouse", "quantity", "reason", "reference",
                                                   "reservation_id", "transfer_id", "actor", "on_hand", "reserved",
                                                   "available", "incoming"};
    if (*format != replay::TableFormat::kText || std::find(kText.begin(), kText.end(), c) != kText.end()) {
      shown.push_back(i);
      columns.push_back(c);
    }
  }
  replay::RowWriter out(stdout, *format, columns);
  replay::FoldOptions options = WithProgress(bar);
  uint64_t rows = 0;
  options.on_event = [&](const eventlog::LogPosition& position, const ledger::Event& event, const ledger::State& state,
                         bool applied) {
    if (!applied || event.envelope.sku.value() != h.sku || event.envelope.occurred_at_ms < since) return;
    std::vector<replay::Cell> cells = replay::HistoryRow(position, event, state);
    std::vector<replay::Cell> picked;
    for (size_t i : shown) picked.push_back(std::move(cells[i]));
    out.Write(picked);
    ++rows;
  };
  replay::Folder folder(std::move(options));
  absl::Status run = folder.Run(**log, bounds);
  bar.Finish();
  if (!run.ok()) return Fail(run);
  PrintViolations(folder.result());
  if (rows == 0) std::fprintf(stderr, "inventoryctl: no events of SKU %s in that window\n", h.sku.c_str());
  return folder.result().violations_total == 0 ? 0 : kExitFindings;
}

struct ExportFlags {
  std::string format;
  std::string what = "events";
  std::string output;
};

int RunExport(const LogFlags& f, const ExportFlags& e) {
  absl::StatusOr<replay::TableFormat> format = replay::ParseTableFormat(e.format);
  if (!format.ok() || *format == replay::TableFormat::kText) {
    return Fail(absl::InvalidArgumentError("--format must be csv or jsonl"));
  }
  auto log = OpenLog(f);
  if (!log.ok()) return Fail(log.status());
  std::FILE* out = stdout;
  if (!e.output.empty()) {
    out = std::fopen(e.output.c_str(), "w");
    if (out == nullptr) return Fail(absl::UnavailableError("cannot write " + e.output));
  }
  replay::ProgressBar bar(stderr, ProgressModeOf(f), "export");
  absl::StatusOr<replay::FoldResult> result;
  bool written = true;
  if (e.what == "events") {
    replay::RowWriter writer(out, *format, replay::EventColumns());
    result = replay::ExportEvents(**log, writer, WithProgress(bar));
    written = writer.ok();
  } else {
    replay::Folder folder(WithProgress(bar));
    absl::Status run = folder.Run(**log, {});
    if (run.ok()) {
      replay::RowWriter writer(out, *format, replay::LevelColumns());
      replay::WriteLevels(folder.state(), {}, writer);
      written = writer.ok();
      result = folder.result();
    } else {
      result = run;
    }
  }
  bar.Finish();
  if (out != stdout && std::fclose(out) != 0) written = false;
  if (!result.ok()) return Fail(result.status());
  if (!written || std::fflush(stdout) != 0) return Fail(absl::UnavailableError("writing the export failed"));
  PrintViolations(*result);
  return result->violations_total == 0 ? 0 : kExitFindings;
}

int RunVerify(const LogFlags& f, bool json) {
  auto log = OpenLog(f);
  if (!log.ok()) return Fail(log.status());
  replay::ProgressBar bar(stderr, ProgressModeOf(f), "verify-log");
  replay::VerifyOptions options;
  options.continuity =
      f.log.backend == eventlog::LogBackend::kKafka ? replay::Continuity::kStrictlyIncreasing : replay::Continuity::kContiguous;
  options.progress = [&bar](uint64_t done, uint64_t total) { bar.Update(done, total); };
  absl::StatusOr<replay::VerifyReport> report = replay::VerifyLog(**log, options);
  bar.Finish();
  if (!report.ok()) return Fail(report.status());
  const std::string text = json ? replay::FormatVerifyJson(*report) : replay::FormatVerifyText(*report);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return report->clean() ? 0 : kExitFindings;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("inventoryctl"));  // stdout is this program's output
  CLI::App app{"inventoryctl: write to and read from a running inventoryd over gRPC (--server), import CSV, seed demo "
               "data; and audit and report on the ledger by replaying its event log (read-only)"};
  app.require_subcommand(1);
  app.fallthrough();
  app.footer("Exit status: 0 ok / clean; 1 refused by the service (gRPC code and Rejection printed), a refused import "
             "row, or findings (audit, verify-log, undecodable records); 2 bad usage or input, unreadable log / read "
             "models; 3 service unreachable. The log commands read only: safe beside a live inventoryd. "
             "See docs/inventoryctl.md.");
  LogFlags log_flags;
  AddLogFlags(app, log_flags);

  AuditFlags audit_flags;
  CLI::App* audit = app.add_subcommand(
      "audit", "Fold the log again, check every invariant after every event, compare with the read models");
  audit->add_flag("--json", audit_flags.json, "Machine-readable report");
  audit->add_flag("--no-views", audit_flags.no_views, "Check the log's invariants only; no read-model comparison");
  audit->add_option("--examples", audit_flags.examples, "Examples printed per finding list")
      ->check(CLI::Range(1, 10000))->capture_default_str();

  AsOfFlags as_of_flags;
  CLI::App* as_of = app.add_subcommand("as-of", "Stock levels, open reservations and sales blocks as they stood at a time or position");
  as_of->add_option("at", as_of_flags.at,
                    "RFC 3339 / ISO 8601 time (UTC unless an offset is given), epoch ms, or positions p:o[,p:o...] "
                    "(those records included)")
      ->required();
  as_of->add_option("--sku", as_of_flags.skus, "Only these SKUs (repeatable)");
  as_of->add_option("--warehouse", as_of_flags.warehouses, "Only these warehouses (repeatable)");
  as_of->add_option("--format", as_of_flags.format, "text, csv or jsonl")->capture_default_str();

  HistoryFlags history_flags;
  CLI::App* history = app.add_subcommand("history", "Every event of a SKU with reason, actor, reference and levels after it");
  history->add_option("--sku", history_flags.sku, "The SKU")->required();
  history->add_option("--since", history_flags.since, "From this time (inclusive)");
  history->add_option("--until", history_flags.until, "To this time (exclusive)");
  history->add_option("--format", history_flags.format, "text, csv or jsonl")->capture_default_str();

  ExportFlags export_flags;
  CLI::App* export_cmd = app.add_subcommand("export", "Stream events or current levels as CSV or JSON Lines");
  export_cmd->add_option("--format", export_flags.format, "csv or jsonl")->required();
  export_cmd->add_option("--what", export_flags.what, "events (every event in log order per partition) or levels")
      ->check(CLI::IsMember({"events", "levels"}))->capture_default_str();
  export_cmd->add_option("--output", export_flags.output, "File to write (default: stdout)");

  bool verify_json = false;
  CLI::App* verify = app.add_subcommand(
      "verify-log", "Check checksums, decodability and position continuity; name the first bad record");
  verify->add_flag("--json", verify_json, "Machine-readable report");

  ctl::ClientCommands client(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitError;
  }
  if (std::optional<int> code = client.Run()) return *code;
  absl::StatusOr<eventlog::LogBackend> backend = eventlog::ParseLogBackend(log_flags.log_backend);
  if (!backend.ok()) return Fail(backend.status());
  log_flags.log.backend = *backend;
  if (audit->parsed()) return RunAudit(log_flags, audit_flags);
  if (as_of->parsed()) return RunAsOf(log_flags, as_of_flags);
  if (history->parsed()) return RunHistory(log_flags, history_flags);
  if (export_cmd->parsed()) return RunExport(log_flags, export_flags);
  if (verify->parsed()) return RunVerify(log_flags, verify_json);
  return kExitError;
}
