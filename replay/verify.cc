#include "replay/verify.h"

#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "eventlog/log_reader.h"
#include "ledger/codec.h"
#include "replay/format.h"

namespace replay {
namespace {

class Verifier {
 public:
  Verifier(eventlog::EventLog& log, const VerifyOptions& options, VerifyReport& report)
      : log_(log), options_(options), report_(report) {}

  // Reads partition p up to `end`; an unreadable record is reported and ends
  // the partition (kRecordAndContinue), I/O trouble ends the run.
  absl::Status Partition(uint32_t p, uint64_t end, uint64_t& done, uint64_t total) {
    base::NextOffsets ends = base::NextOffsets::Zero(log_.partition_count());
    ends[p] = end;
    ASSIGN_OR_RETURN(std::unique_ptr<eventlog::LogReader> reader,
                     eventlog::LogReader::Open(&log_,
                                               {.start_offsets = base::NextOffsets::Zero(ends.size()),
                                                .end_offsets = ends,
                                                .partitions = {p}},
                                               {.read_batch_records = options_.read_batch_records,
                                                .on_unreadable = eventlog::ErrorPolicy::kRecordAndContinue},
                                               eventlog::KeepRecords));
    uint64_t expected = 0;  // the next offset a contiguous log must hold
    bool any = false;
    uint64_t last = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::optional<eventlog::RecordBatch> batch, reader->Next());
      if (!batch) break;
      for (const eventlog::StoredRecord& record : batch->records) {
        Check(p, record, any, last, expected);
        any = true;
        last = record.position.offset;
        expected = last + 1;
        ++report_.records;
      }
      if (!batch->unreadable.ok()) {
        Bad(batch->unreadable_at,
            absl::StrCat("unreadable (the rest of the partition is skipped): ", batch->unreadable.message()));
        return absl::OkStatus();
      }
      done += batch->records.size();
      if (options_.progress) options_.progress(done, total);
    }
    if (options_.continuity == Continuity::kContiguous && expected < end) {
      Bad({p, expected}, absl::StrCat("missing: the partition ends at offset ", end, " but no record holds offset ",
                                      expected));
    }
    return absl::OkStatus();
  }

 private:
  void Check(uint32_t p, const eventlog::StoredRecord& record, bool any, uint64_t last, uint64_t expected) {
    const eventlog::LogPosition& at = record.position;
    if (at.partition != p) {
      Bad(at, absl::StrCat("returned by a read of partition ", p));
      return;
    }
    if (any && at.offset <= last) {
      Bad(at, absl::StrCat("offset does not increase: follows offset ", last));
    } else if (options_.continuity == Continuity::kContiguous && at.offset != expected) {
      Bad(at, absl::StrCat("gap: offsets ", expected, "..", at.offset - 1, " are missing"));
    }
    absl::StatusOr<ledger::Event> event = decoder_.Decode(record.payload);
    if (!event.ok()) {
      Bad(at, absl::StrCat("undecodable (", absl::StatusCodeToString(event.status().code()),
                           "): ", event.status().message()));
      return;
    }
    const std::string key = ledger::PartitionKey(*event);
    if (key != record.key) {
      Bad(at, absl::StrCat("key '", record.key, "' is not the event's partition key '", key, "' (event ",
                           event->envelope.event_id.ToHex(), ")"));
    } else if (eventlog::PartitionFor(key, log_.partition_count()) != p) {
      Bad(at, absl::StrCat("key '", key, "' belongs to partition ", eventlog::PartitionFor(key, log_.partition_count())));
    }
  }

  void Bad(const eventlog::LogPosition& at, std::string what) {
    ++report_.bad_total;
    if (report_.bad.size() < options_.examples_max) report_.bad.push_back({at, std::move(what)});
  }

  eventlog::EventLog& log_;
  const VerifyOptions& options_;
  VerifyReport& report_;
  ledger::EventDecoder decoder_;
};

}  // namespace

absl::StatusOr<VerifyReport> VerifyLog(eventlog::EventLog& log, const VerifyOptions& options) {
  VerifyReport report;
  ASSIGN_OR_RETURN(report.end_offsets, log.EndOffsets());
  uint64_t total = 0;
  for (uint64_t end : report.end_offsets) total += end;
  uint64_t done = 0;
  Verifier verifier(log, options, report);
  for (uint32_t p = 0; p < report.end_offsets.size(); ++p) {
    RETURN_IF_ERROR(verifier.Partition(p, report.end_offsets[p], done, total));
  }
  return report;
}

std::string FormatVerifyText(const VerifyReport& r) {
  std::string out = absl::StrCat("verify-log: ", r.clean() ? "OK" : "FAILED", " (", r.records, " records, ",
                                 r.bad_total, " bad)\n");
  if (!r.bad.empty()) {
    const BadRecord& first = r.bad.front();
    absl::StrAppend(&out, "first bad record: partition ", first.position.partition, " offset ", first.position.offset,
                    ": ", first.what, "\n");
  }
  for (size_t i = 1; i < r.bad.size(); ++i) {
    absl::StrAppend(&out, "  ", r.bad[i].position.partition, ":", r.bad[i].position.offset, ": ", r.bad[i].what, "\n");
  }
  if (r.bad.size() < r.bad_total) absl::StrAppend(&out, "  ... ", r.bad_total - r.bad.size(), " more\n");
  return out;
}

std::string FormatVerifyJson(const VerifyReport& r) {
  std::string out = absl::StrCat("{\"clean\":", r.clean() ? "true" : "false", ",\"records\":", r.records,
                                 ",\"end_offsets\":[");
  for (size_t p = 0; p < r.end_offsets.size(); ++p) absl::StrAppend(&out, p == 0 ? "" : ",", r.end_offsets[p]);
  absl::StrAppend(&out, "],\"bad_total\":", r.bad_total, ",\"bad\":[");
  for (size_t i = 0; i < r.bad.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", "{\"partition\":", r.bad[i].position.partition,
                    ",\"offset\":", r.bad[i].position.offset, ",\"what\":", JsonString(r.bad[i].what), "}");
  }
  absl::StrAppend(&out, "]}\n");
  return out;
}

}  // namespace replay
