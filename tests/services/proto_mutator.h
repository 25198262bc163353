// Seeded hostile mutations of a valid request, for the services' bounded fuzz tests: either one
// field (found by reflection, at any depth) gets a hostile value — 0, −1, extremes, NaN/±inf,
// emptied or random bytes, an unknown enum number, a repeated field cleared or grown — or the
// serialized bytes are flipped, truncated or spliced and parsed back (what a broken client or a
// corrupted stream sends; bytes that no longer parse fall back to a field mutation). Deterministic
// given the generator, so a failure reproduces from its seed and index.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/stubs/logging.h"

namespace vlarft::services::testing {

class ProtoMutator {
 public:
  explicit ProtoMutator(uint64_t seed) : rng_(seed) {}

  // Whether `message` is a well-formed protobuf on the wire. A hostile client can send bytes that
  // are not (e.g. invalid UTF-8 in a proto3 `string` field): gRPC's sync server then refuses them
  // before any service code runs, with INTERNAL and an empty message, which no handler can change.
  template <typename Message>
  static bool WireValid(const Message& message) {
    google::protobuf::LogSilencer quiet;  // serialising invalid UTF-8 logs an error per field
    std::string bytes;
    if (!message.SerializePartialToString(&bytes)) return false;
    Message parsed;
    return parsed.ParseFromString(bytes);
  }

  // A mutated copy of `valid`.
  template <typename Message>
  Message Mutate(const Message& valid) {
    Message out = valid;
    if (Uniform(3) == 0) {
      std::string bytes = valid.SerializeAsString();
      MutateBytes(&bytes);
      Message parsed;
      if (parsed.ParsePartialFromString(bytes)) return parsed;
    }
    for (int64_t i = 0, n = 1 + Uniform(3); i < n; ++i) MutateField(&out, 0);
    return out;
  }

 private:
  using FieldDescriptor = google::protobuf::FieldDescriptor;

  int64_t Uniform(int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng_); }

  void MutateBytes(std::string* bytes) {
    if (bytes->empty()) return;
    switch (Uniform(4)) {
      case 0:  // a few bit flips, mostly near the start, where tags and lengths are
        for (int64_t i = 0, n = 1 + Uniform(8); i < n; ++i) {
          const int64_t span = Uniform(2) == 0 ? std::min<int64_t>(64, bytes->size()) : bytes->size();
          (*bytes)[Uniform(span)] ^= static_cast<char>(1 << Uniform(8));
        }
        break;
      case 1:
        bytes->resize(Uniform(bytes->size()));
        break;
      case 2: {  // a slice repeated
        const int64_t at = Uniform(bytes->size());
        *bytes += bytes->substr(at, 1 + Uniform(64));
        break;
      }
      default:  // 0xff runs: varints that never end or overflow
        for (int64_t i = Uniform(std::min<int64_t>(64, bytes->size())), n = 1 + Uniform(12);
             i < static_cast<int64_t>(bytes->size()) && n > 0; ++i, --n) {
          (*bytes)[i] = static_cast<char>(0xff);
        }
    }
  }

  template <typename T>
  T Pick(const std::vector<T>& values) {
    return values[Uniform(values.size())];
  }

  void MutateField(google::protobuf::Message* message, int depth) {
    const google::protobuf::Descriptor* descriptor = message->GetDescriptor();
    const google::protobuf::Reflection* reflection = message->GetReflection();
    if (descriptor->field_count() == 0) return;
    const FieldDescriptor* field = descriptor->field(Uniform(descriptor->field_count()));
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(*message, field);
      const int64_t choice = Uniform(4);
      if (choice == 0 || (size == 0 && field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)) {
        reflection->ClearField(message, field);
        return;
      }
      if (choice == 1 || size == 0) {
        AddScalarOrMessage(message, field);
        return;
      }
      if (choice == 2 && size > 0) {
        reflection->RemoveLast(message, field);
        return;
      }
      const int index = static_cast<int>(Uniform(size));
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (depth < 4) MutateField(reflection->MutableRepeatedMessage(message, field, index), depth + 1);
      } else {
        SetRepeatedScalar(message, field, index);
      }
      return;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (Uniform(5) == 0 || depth >= 4) {
        reflection->ClearField(message, field);
      } else {
        MutateField(reflection->MutableMessage(message, field), depth + 1);
      }
      return;
    }
    SetScalar(message, field);
  }

  int64_t HostileInt() {
    return Pick<int64_t>({0, -1, 1, 2, 3, 33, 65, 1 << 20, std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min(), std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min(), static_cast<int64_t>(Uniform(1000)) - 500});
  }
  double HostileReal() {
    return Pick<double>({0.0, -1.0, 1e30, -1e30, 3e38, std::nan(""), std::numeric_limits<double>::infinity(),
                         -std::numeric_limits<double>::infinity(), 1e-45, 0.5});
  }
  std::string HostileBytes(const std::string& current) {
    switch (Uniform(4)) {
      case 0: return "";
      case 1: return current.substr(0, Uniform(current.size() + 1));
      case 2: return current + current;
      default: {
        std::string s(Uniform(64), '\0');
        for (char& c : s) c = static_cast<char>(Uniform(256));
        return s;
      }
    }
  }

  void SetScalar(google::protobuf::Message* m, const FieldDescriptor* f) {
    const google::protobuf::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, static_cast<int32_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, HostileInt()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, static_cast<uint32_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, static_cast<uint64_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(m, f, static_cast<float>(HostileReal())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(m, f, HostileReal()); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, !r->GetBool(*m, f)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(m, f, static_cast<int>(HostileInt() % 100)); break;
      case FieldDescriptor::CPPTYPE_STRING: r->SetString(m, f, HostileBytes(r->GetString(*m, f))); break;
      case FieldDescriptor::CPPTYPE_MESSAGE: break;
    }
  }

  void SetRepeatedScalar(google::protobuf::Message* m, const FieldDescriptor* f, int i) {
    const google::protobuf::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetRepeatedInt32(m, f, i, static_cast<int32_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetRepeatedInt64(m, f, i, HostileInt()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->SetRepeatedUInt32(m, f, i, static_cast<uint32_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->SetRepeatedUInt64(m, f, i, static_cast<uint64_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->SetRepeatedFloat(m, f, i, static_cast<float>(HostileReal())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->SetRepeatedDouble(m, f, i, HostileReal()); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetRepeatedBool(m, f, i, !r->GetRepeatedBool(*m, f, i)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetRepeatedEnumValue(m, f, i, static_cast<int>(HostileInt() % 100)); break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetRepeatedString(m, f, i, HostileBytes(r->GetRepeatedString(*m, f, i)));
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: break;
    }
  }

  void AddScalarOrMessage(google::protobuf::Message* m, const FieldDescriptor* f) {
    const google::protobuf::Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(m, f, static_cast<int32_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(m, f, HostileInt()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(m, f, static_cast<uint32_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(m, f, static_cast<uint64_t>(HostileInt())); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(m, f, static_cast<float>(HostileReal())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(m, f, HostileReal()); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(m, f, true); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(m, f, static_cast<int>(HostileInt() % 100)); break;
      case FieldDescriptor::CPPTYPE_STRING: r->AddString(m, f, HostileBytes("")); break;
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        // A copy of an existing element (or an empty one), so the repetition itself is the attack.
        google::protobuf::Message* added = r->AddMessage(m, f);
        const int size = r->FieldSize(*m, f);
        if (size > 1) added->CopyFrom(r->GetRepeatedMessage(*m, f, static_cast<int>(Uniform(size - 1))));
        break;
      }
    }
  }

  std::mt19937_64 rng_;
};

}  // namespace vlarft::services::testing
