// proto/result.schema.json against what kstep writes: the schema names
// every field of every message a RunResult can hold, with the JSON mapping's
// type for it (checked against the protobuf descriptors, so a field added to
// result.proto or kstep.proto without the schema fails here), and a rich
// result.json made by the result document code validates under
// tests/tools/validate_json_schema.py while mutated ones do not.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include "host/cli/run_documents.hpp"
#include "host/results/result_document.hpp"
#include "host/session/outcome.hpp"
#include "tests/unit/host/recording_control.hpp"
#include "tests/unit/host/results/consumer_tools.hpp"

namespace kstep::host {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::HasSubstr;
using testing::quoted;
using testing::run_tool;
using testing::source_file;

Struct load_schema() {
  std::ifstream in{source_file("proto/result.schema.json")};
  std::stringstream text;
  text << in.rdbuf();
  Struct schema;
  const auto status = google::protobuf::util::JsonStringToMessage(text.str(), &schema);
  EXPECT_TRUE(status.ok()) << "proto/result.schema.json: " << status.ToString();
  return schema;
}

// The $defs name of a field's type: the message or enum's full name, or the
// JSON mapping's scalar class.
std::string type_name(const FieldDescriptor& field) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP: return field.message_type()->full_name();
    case FieldDescriptor::TYPE_ENUM: return field.enum_type()->full_name();
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32: return "uint32";
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SFIXED32: return "int32";
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64: return "uint64";
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64: return "int64";
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FLOAT: return "double";
    case FieldDescriptor::TYPE_BOOL: return "bool";
    case FieldDescriptor::TYPE_STRING: return "string";
    case FieldDescriptor::TYPE_BYTES: return "bytes";
  }
  return "?";
}

std::string ref_of(const Value& schema) {
  const auto& fields = schema.struct_value().fields();
  const auto found = fields.find("$ref");
  return found == fields.end() ? std::string{} : found->second.string_value();
}

std::string field_of(const Value& schema, const char* key) {
  const auto& fields = schema.struct_value().fields();
  const auto found = fields.find(key);
  return found == fields.end() ? std::string{} : found->second.string_value();
}

// Walks every message and enum a RunResult can hold and checks its $defs
// entry; collects the $defs names in use.
class SchemaWalker {
 public:
  explicit SchemaWalker(const Struct& schema) : defs_(schema.fields().at("$defs").struct_value().fields()) {}

  void message(const Descriptor& type) {
    if (!used_.insert(type.full_name()).second) {
      return;
    }
    const auto def = defs_.find(type.full_name());
    ASSERT_NE(def, defs_.end()) << "no $defs entry for " << type.full_name();
    const auto& body = def->second.struct_value().fields();
    ASSERT_EQ(body.count("additionalProperties"), 1U) << type.full_name();
    EXPECT_FALSE(body.at("additionalProperties").bool_value()) << type.full_name();
    const auto& properties = body.at("properties").struct_value().fields();
    std::set<std::string> expected;
    for (int i = 0; i < type.field_count(); ++i) {
      const auto& field = *type.field(i);
      expected.insert(field.json_name());
      const auto property = properties.find(field.json_name());
      if (property == properties.end()) {
        ADD_FAILURE() << type.full_name() << "." << field.name() << ": no property '" << field.json_name()
                      << "' in the schema";
        continue;
      }
      check_field(type, field, property->second);
    }
    std::set<std::string> actual;
    for (const auto& [name, unused] : properties) {
      actual.insert(name);
    }
    EXPECT_EQ(actual, expected) << "the properties of " << type.full_name();
  }

  [[nodiscard]] const std::set<std::string>& used() const { return used_; }

 private:
  void check_field(const Descriptor& owner, const FieldDescriptor& field, const Value& property) {
    const std::string where = owner.full_name() + "." + field.name();
    const FieldDescriptor& element = field.is_map() ? *field.message_type()->map_value() : field;
    std::string ref;
    if (field.is_map()) {
      EXPECT_EQ(field_of(property, "type"), "object") << where;
      ref = ref_of(property.struct_value().fields().at("additionalProperties"));
    } else if (field.is_repeated()) {
      EXPECT_EQ(field_of(property, "type"), "array") << where;
      ref = ref_of(property.struct_value().fields().at("items"));
    } else {
      ref = ref_of(property);
    }
    const std::string type = type_name(element);
    EXPECT_EQ(ref, "#/$defs/" + type) << where;
    if (defs_.count(type) == 0) {
      ADD_FAILURE() << where << ": no $defs entry for " << type;
      return;
    }
    if (element.type() == FieldDescriptor::TYPE_MESSAGE) {
      message(*element.message_type());
      return;  // message() marks it used
    }
    used_.insert(type);
    if (element.type() == FieldDescriptor::TYPE_ENUM) {
      std::vector<std::string> names;
      for (int i = 0; i < element.enum_type()->value_count(); ++i) {
        names.push_back(element.enum_type()->value(i)->name());
      }
      std::vector<std::string> listed;
      for (const auto& value : defs_.at(type).struct_value().fields().at("enum").list_value().values()) {
        listed.push_back(value.string_value());
      }
      EXPECT_EQ(listed, names) << "the names of enum " << type;
    }
  }

  const google::protobuf::Map<std::string, Value>& defs_;
  std::set<std::string> used_;
};

TEST(ResultSchema, NamesEveryFieldWithItsJsonMappingTypeAndNothingElse) {
  const auto schema = load_schema();
  ASSERT_EQ(schema.fields().count("$defs"), 1U);
  EXPECT_EQ(schema.fields().at("$ref").string_value(), "#/$defs/kstep.result.RunResult");
  SchemaWalker walker{schema};
  walker.message(*result::RunResult::descriptor());
  for (const auto& [name, unused] : schema.fields().at("$defs").struct_value().fields()) {
    EXPECT_TRUE(walker.used().contains(name)) << "$defs entry '" << name << "' is not used by any field";
  }
}

TEST(ResultSchema, OutcomesAndExitCodesAreKsteps) {
  const auto schema = load_schema();
  const auto& properties = schema.fields()
                               .at("$defs")
                               .struct_value()
                               .fields()
                               .at("kstep.result.RunResult")
                               .struct_value()
                               .fields()
                               .at("properties")
                               .struct_value()
                               .fields();
  std::set<std::string> outcomes;
  std::set<int> codes;
  for (int i = 0; i <= static_cast<int>(Outcome::kInterrupted); ++i) {
    outcomes.insert(std::string{to_string(static_cast<Outcome>(i))});
    codes.insert(exit_code(static_cast<Outcome>(i)));
  }
  std::set<std::string> listed_outcomes;
  for (const auto& value :
       properties.at("outcome").struct_value().fields().at("enum").list_value().values()) {
    listed_outcomes.insert(value.string_value());
  }
  std::set<int> listed_codes;
  for (const auto& value :
       properties.at("exitCode").struct_value().fields().at("enum").list_value().values()) {
    listed_codes.insert(static_cast<int>(value.number_value()));
  }
  EXPECT_EQ(listed_outcomes, outcomes);
  EXPECT_EQ(listed_codes, codes);
}

wire::GuestMessage frame(const std::string& text) {
  wire::GuestMessage message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

class ResultSchemaValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto probe = run_tool("python3 -c 'import jsonschema'");
    if (probe.exit_code != 0) {
      GTEST_SKIP() << "python3-jsonschema is not installed (scripts/setup installs it): " << probe.output;
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("kstep-schema-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::filesystem::remove_all(dir_);
    }
  }

  // A run whose scheduler stalled in step 2, with every kind of content a
  // result can hold: reports with workers and payload metrics (one not
  // finite), 64-bit counters past 2^32, negative exit codes, scheduler
  // events, a failure dump, map writes and the BPF map catalog.
  result::RunResult rich_result() {
    wire::RunScenario run;
    run.mutable_scenario()->set_name("rich");
    run.mutable_scenario()->add_steps()->set_name("first");
    run.mutable_scenario()->add_steps()->set_name("second");
    std::ostringstream progress;
    testing::RecordingControl control;
    ScenarioDriver driver{run, dir_, progress};
    for (
        const char* text : {
            R"pb(scenario_start { name: "rich" steps: 2 duration_ms: 10000 cpus: 2 })pb",
            R"pb(step_start { step: 0 elapsed_ms: 5 cgroup_count: 1 worker_count: 1 total_iterations: 10 })pb",
            R"pb(scheduler_event {
                   kind: ATTACHED
                   name: "kstep-sched"
                   pid: 100
                   elapsed_ms: 1
                   ops: "kstep"
                   attach_us: 390000
                 })pb",
            R"pb(step_start {
                   step: 1
                   elapsed_ms: 10
                   op_count: 2
                   op_kinds: 6
                   cgroup_count: 2
                   worker_count: 2
                   total_iterations: 100
                 })pb",
            R"pb(scenario_resume { step: 1 elapsed_ms: 10 hold_ms: 1000 })pb",
            R"pb(scenario_pause { step: 1 elapsed_ms: 1010 })pb",
            R"pb(step_end { step: 1 elapsed_ms: 1010 iterations: 5000000100 })pb",
            R"pb(step_report {
                   step: 1
                   cgroups {
                     cgroup: "w"
                     cpuset: [ 0, 1 ]
                     captured_procs: [ 42, 43 ]
                     workers {
                       pid: 42
                       work: FUTEX_PINGPONG
                       iterations: 5000000000
                       cpu_time_us: 1000000
                       wall_time_us: 1000000
                       voluntary_switches: 5
                       involuntary_switches: 6
                       migrations: 7
                       cpus_used: [ 0, 1 ]
                       max_gap_us: 900
                       wake_p50_us: 10
                       wake_p99_us: 20
                       wake_max_us: 30
                       killed: true
                     }
                   }
                   payloads {
                     id: "stress-ng"
                     payload: "stress-ng"
                     cgroup: "w"
                     exit_code: -1
                     signal: 9
                     metrics { key: "ops_per_s" value: 1234.5 }
                     metrics { key: "odd" value: nan }
                     wall_time_us: 2000000
                     stderr_tail: "killed\n"
                   }
                   details { kind: GAP step: 1 cgroup: "w" message: "gap of 900 ms" elapsed_ms: 1005 }
                 })pb",
            R"pb(step_start { step: 2 elapsed_ms: 1020 worker_count: 2 total_iterations: 5000000100 })pb",
            R"pb(scenario_resume { step: 2 elapsed_ms: 1020 hold_ms: 1000 })pb",
            R"pb(scheduler_event { kind: STOPPED name: "kstep-sched" pid: 100 step: 2 elapsed_ms: 1500 })pb",
            R"pb(scheduler_event {
                   kind: DIED
                   name: "kstep-sched"
                   pid: 100
                   step: 2
                   elapsed_ms: 1600
                   detail: SCHEDULER_STALLED
                   message: "runnable task stall"
                   kernel_disabled_us: 123456789012
                   detected_us: 123456789000
                 })pb",
            R"pb(scenario_pause { step: 2 elapsed_ms: 1600 })pb",
            R"pb(step_report {
                   step: 2
                   details { kind: SCHEDULER_STALLED step: 2 message: "stall" }
                 })pb",
            R"pb(scenario_end {
                   step: 1
                   elapsed_ms: 1010
                   iterations: 5000000100
                   details { kind: GAP step: 1 cgroup: "w" message: "gap of 900 ms" elapsed_ms: 1005 }
                   details { kind: SCHEDULER_STALLED step: 2 message: "stall" elapsed_ms: 1600 }
                   backdrop {
                     cgroups {
                       cgroup: "bd"
                       workers { pid: 7 iterations: 10 }
                     }
                   }
                 })pb",
        }) {
      driver.on_message(frame(text), control);
    }
    EXPECT_FALSE(control.protocol) << *control.protocol;

    auto metadata = start_metadata(std::chrono::system_clock::now());
    metadata.set_kernel_release("7.3.4+deb13-cloud-amd64");
    metadata.set_kernel_image("/cache/vmlinux");
    metadata.set_kernel_config_sha256(std::string(64, 'a'));
    metadata.set_accelerator("tcg");
    metadata.set_topology("2 CPUs (1 packages, 2 cores, 2 threads, 1 LLCs, 1 NUMA nodes)");
    metadata.set_scenario("rich");
    metadata.set_scenario_sha256(std::string(64, 'b'));
    metadata.set_scheduler("kstep-sched");
    metadata.set_scheduler_sha256(std::string(64, 'c'));
    metadata.add_scheduler_args("--stall-after-ms");
    metadata.add_scheduler_args("1000");
    auto doc = assemble_result(ResultInputs{metadata,
                                            Classification{Outcome::kSchedulerFailure, "scheduler stalled"},
                                            &driver, dir_, std::chrono::milliseconds{6500}});
    result::RunResult extra;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(
          failure_dump {
            trigger: "scheduler stalled in step 2"
            maps {
              id: 7
              name: "kstep_sc.bss"
              type_name: "array"
              lines: "stall_after_ms = 1000"
              truncated: true
            }
            maps { id: 8 name: "kstep_sc.data" error: "cannot read" }
            sched_ext_dump: "dump"
            console_tail: "tail"
            scheduler_output: "out"
          }
          map_writes {
            map: "bss"
            field: "stall_after_ms"
            value: "1000"
            map_name: "kstep_sc.bss"
            before: "0"
            after: "1000"
          }
          map_writes { map: "rodata" field: "mode" value: "1" error: "read-only" }
          bpf_map_catalog {
            scheduler: "kstep-sched"
            pid: 100
            warning: "one map without BTF"
            maps {
              id: 7
              name: "kstep_sc.bss"
              type: 2
              type_name: "array"
              key_size: 4
              value_size: 16
              max_entries: 1
              map_flags: 1024
              btf_value_type: ".bss"
              read_only: false
              fields { name: "stall_after_ms" offset: 0 size: 8 type: "u64" encoding: UNSIGNED }
              fields { name: "name" offset: 8 size: 8 type: "char[8]" encoding: CHAR_ARRAY }
            }
            maps { id: 9 name: "kstep_sc.rodata" type: 2 read_only: true }
          })pb",
        &extra));
    doc.MergeFrom(extra);
    return doc;
  }

  std::filesystem::path write(const char* name, const std::string& text) const {
    const auto path = dir_ / name;
    std::ofstream{path} << text;
    return path;
  }

  static testing::ToolRun validate(const std::filesystem::path& document) {
    return run_tool("python3 " + quoted(source_file("tests/tools/validate_json_schema.py")) + " " +
                    quoted(source_file("proto/result.schema.json")) + " " + quoted(document));
  }

  std::filesystem::path dir_;
};

TEST_F(ResultSchemaValidation, ARichResultAsKstepWritesItValidates) {
  const auto doc = rich_result();
  ASSERT_EQ(doc.steps_size(), 2);
  ASSERT_EQ(doc.scheduler_events_size(), 3);
  const auto json = to_json(doc);
  ASSERT_TRUE(json) << json.error().message;
  // What the schema is about: 64-bit integers as strings, enums by name.
  EXPECT_THAT(*json, HasSubstr(R"("iterations": "5000000000")"));
  EXPECT_THAT(*json, HasSubstr(R"("work": "FUTEX_PINGPONG")"));
  EXPECT_THAT(*json, HasSubstr(R"("odd": "NaN")"));
  const auto run = validate(write("result.json", *json));
  EXPECT_EQ(run.exit_code, 0) << run.output << *json;
}

TEST_F(ResultSchemaValidation, AResultWithoutAScenarioValidates) {
  const auto doc = assemble_result(ResultInputs{start_metadata(std::chrono::system_clock::now()),
                                                Classification{Outcome::kPass, "handshake"}, nullptr, dir_,
                                                std::chrono::milliseconds{2400}});
  const auto json = to_json(doc);
  ASSERT_TRUE(json) << json.error().message;
  const auto run = validate(write("result.json", *json));
  EXPECT_EQ(run.exit_code, 0) << run.output << *json;
}

TEST_F(ResultSchemaValidation, AWrongTypeIsRejectedWithItsPath) {
  const auto json = to_json(rich_result());
  ASSERT_TRUE(json) << json.error().message;
  std::string mutated = *json;
  const std::string wrong = R"("iterations": "5000000000")";
  ASSERT_NE(mutated.find(wrong), std::string::npos);
  mutated.replace(mutated.find(wrong), wrong.size(), R"("iterations": 5000000000)");
  const auto run = validate(write("wrong-type.json", mutated));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("$.steps[0].iterations: 5000000000 is not of type 'string'"));
}

TEST_F(ResultSchemaValidation, AnUnknownFieldIsRejectedWithItsPath) {
  const auto json = to_json(rich_result());
  ASSERT_TRUE(json) << json.error().message;
  std::string mutated = *json;
  const std::string field = R"("kernelRelease":)";
  ASSERT_NE(mutated.find(field), std::string::npos);
  mutated.replace(mutated.find(field), field.size(), R"("kernel_release":)");
  const auto run = validate(write("unknown-field.json", mutated));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("$.metadata: Additional properties are not allowed ('kernel_release'"));
}

TEST_F(ResultSchemaValidation, AnUnknownEnumNameIsRejected) {
  const auto json = to_json(rich_result());
  ASSERT_TRUE(json) << json.error().message;
  std::string mutated = *json;
  const std::string verdict = R"("verdict": "FAIL")";
  ASSERT_NE(mutated.find(verdict), std::string::npos);
  mutated.replace(mutated.find(verdict), verdict.size(), R"("verdict": "BROKEN")");
  const auto run = validate(write("bad-enum.json", mutated));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("$.verdict"));
}

}  // namespace
}  // namespace kstep::host
