#include "components/apiserver/handlers.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "components/apiserver/admission.h"
#include "components/apiserver/patch.h"
#include "components/apiserver/protobuf.h"
#include "components/apiserver/tables.h"
#include "core/codec.h"
#include "core/field_value.h"
#include "core/kinds.h"
#include "core/selector.h"
#include "core/validation.h"
#include "storage/replay.h"

namespace korc::apiserver {

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Where the service allocators start probing. Decisions run on the sequencer thread (and
// dry runs on the request's), so each thread has its own.
std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

HttpResponse Json(int code, std::string body) {
  return {code, "application/json", std::move(body), {}};
}

bool WantsTable(const HttpRequest& req) { return req.accept.find("as=Table") != std::string::npos; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Who is asking, for the log's `actor`. There is no authentication yet, so this is what the
// client says of itself: a component's declared identity (?korcActor=), else "anonymous"
// with the client's product ("anonymous (kubectl/v1.29.14)").
std::string Actor(const HttpRequest& req) {
  if (!req.provenance.actor.empty()) return req.provenance.actor;
  if (auto a = req.Query("korcActor"); !a.empty()) return a;
  std::string ua = req.user_agent.substr(0, req.user_agent.find(' '));
  return ua.empty() ? "anonymous" : "anonymous (" + ua + ")";
}

FieldValidation ValidationOf(const HttpRequest& req) {
  std::string v = req.Query("fieldValidation");
  if (v == "Strict") return FieldValidation::kStrict;
  if (v == "Ignore") return FieldValidation::kIgnore;
  return FieldValidation::kWarn;
}

// Kinds whose status is written only through the status subresource.
bool HasStatusSubresource(const KindInfo& k) {
  return k.kind == "Pod" || k.kind == "ReplicationController" || k.kind == "Service" ||
         k.kind == "Node" || k.kind == "Namespace";
}

// Copies status from `from` into `to` (same kind), for kinds that have one.
void CopyStatus(const api::Object& from, api::Object& to) {
  std::visit(
      [&](auto& t) {
        using T = std::decay_t<decltype(t)>;
        if constexpr (requires { t.status; }) t.status = std::get<T>(from).status;
      },
      to);
}

// Copies everything but status from `from` into `to`.
void CopyAllButStatus(const api::Object& from, api::Object& to) {
  api::Object result = from;
  CopyStatus(to, result);
  to = std::move(result);
}

std::string NotFoundMessage(const KindInfo& k, std::string_view name) {
  return std::string(k.resource) + " \"" + std::string(name) + "\" not found";
}

// The selectors of a list or watch, checked against the kind.
struct Selectors {
  LabelSelector labels;
  FieldSelector fields;
};

Result<Selectors> ParseSelectors(const HttpRequest& req, const KindInfo& kind) {
  Selectors s;
  if (auto l = req.Query("labelSelector"); !l.empty()) {
    auto p = LabelSelector::Parse(l);
    if (!p.ok()) return Status::BadRequest(p.status().message());
    s.labels = std::move(p).value();
  }
  if (auto f = req.Query("fieldSelector"); !f.empty()) {
    auto p = FieldSelector::Parse(f);
    if (!p.ok()) return Status::BadRequest(p.status().message());
    KORC_RETURN_IF_ERROR(CheckFieldSelector(kind, *p));
    s.fields = std::move(p).value();
  }
  return s;
}

Result<uint64_t> ParseResourceVersion(std::string_view rv) {
  if (rv.empty()) return uint64_t{0};
  uint64_t v = 0;
  for (char c : rv) {
    if (c < '0' || c > '9' || v > UINT64_MAX / 10) {
      return Status::BadRequest("invalid resource version \"" + std::string(rv) +
                                "\": it must be a decimal number (a log seq)");
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Splits an API path into its group version and the rest: "/api/v1/pods" into "v1" and
// "pods", "/apis/coordination.k8s.io/v1/leases" into "coordination.k8s.io/v1" and "leases".
// False for paths outside /api/v1/ and /apis/{group}/{version}/.
bool SplitApiPath(std::string_view path, std::string_view* api_version, std::string_view* rest) {
  if (path.starts_with("/api/v1/")) {
    *api_version = "v1";
    *rest = path.substr(8);
    return true;
  }
  if (!path.starts_with("/apis/")) return false;
  std::string_view gv = path.substr(6);
  auto group_end = gv.find('/');
  if (group_end == std::string_view::npos || group_end == 0) return false;
  auto version_end = gv.find('/', group_end + 1);
  if (version_end == std::string_view::npos || version_end == group_end + 1) return false;
  *api_version = gv.substr(0, version_end);
  *rest = gv.substr(version_end + 1);
  return true;
}

// A watch path without its legacy "watch/" segment ("/api/v1/watch/pods" -> "/api/v1/pods");
// nullopt when `path` is not one.
std::optional<std::string> UnwatchPath(std::string_view path) {
  std::string_view api_version, rest;
  if (!SplitApiPath(path, &api_version, &rest) || !rest.starts_with("watch/")) return std::nullopt;
  std::string out(path.substr(0, path.size() - rest.size()));
  return out.append(rest.substr(6));
}

// The list envelope: {"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[...]}.
std::string ListJson(const KindInfo& k, const std::vector<EntryPtr>& items, uint64_t rv) {
  std::string out = "{\"kind\":\"" + std::string(k.kind) + "List\",\"apiVersion\":\"" +
                    std::string(k.api_version) + "\"," + "\"metadata\":{\"resourceVersion\":\"" +
                    std::to_string(rv) + "\"},\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i]->json;
  }
  out += "]}";
  return out;
}

std::string SuccessStatus(const KindInfo& k, const api::ObjectMeta& m) {
  api::StatusObject s;
  s.api_version = "v1";
  s.kind = "Status";
  s.status = "Success";
  api::StatusDetails d;
  d.name = m.name;
  d.group = k.group;
  d.kind = k.resource;
  d.uid = m.uid;
  s.details = d;
  return EncodeJsonAs(s);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Routing

// {/api/v1|/apis/{group}/{version}}/[namespaces/{ns}/]{resource}[/{name}[/{subresource}]];
// kind is null when the path names no resource served in that group version.
// "namespaces/{name}[/{sub}]" is the Namespace itself.
Handlers::Route Handlers::ParseRoute(std::string_view path) {
  Route r;
  std::string_view api_version, rest;
  if (!SplitApiPath(path, &api_version, &rest)) return r;
  std::vector<std::string> seg;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    seg.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (seg.empty() || seg.size() > 5) return r;
  const KindInfo* nested = seg.size() >= 3 ? FindResource(seg[2]) : nullptr;
  if (seg[0] == "namespaces" && nested && nested->namespaced && nested->resource == seg[2]) {
    r.ns = seg[1];
    r.kind = nested;
    if (seg.size() > 3) r.name = seg[3];
    if (seg.size() > 4) r.sub = seg[4];
  } else if (seg.size() <= 3) {
    const KindInfo* k = FindResource(seg[0]);
    if (k && k->resource == seg[0]) r.kind = k;
    if (seg.size() > 1) r.name = seg[1];
    if (seg.size() > 2) r.sub = seg[2];
  }
  if (r.kind && r.kind->api_version != api_version) r = Route{};
  return r;
}

bool Handlers::IsWatch(const HttpRequest& req) {
  if (req.method != "GET") return false;
  if (req.path == "/korc/v1/log") return true;
  if (req.QueryBool("watch")) return true;
  return UnwatchPath(req.path).has_value();
}

namespace {
// The commit of the request this thread is handling (requests are handled synchronously, one
// per thread), so Handle can report it whatever shape the verb's answer has.
thread_local Committed current_commit;
}  // namespace

HttpResponse Handlers::Handle(const HttpRequest& req) {
  auto started = Clock::now();
  current_commit = Committed{};
  HttpResponse res;
  std::string verb = Lower(req.method), resource = "-";
  const std::string& p = req.path;
  std::string_view api_version, api_rest;
  // "/apis/{group}" and "/apis/{group}/{version}" are discovery; deeper paths are resources.
  const bool group_discovery =
      p.starts_with("/apis/") && std::count(p.begin(), p.end(), '/') <= 3 && p.back() != '/';
  if (p == "/api" || p == "/api/v1" || p == "/apis" || p == "/version" ||
      p.starts_with("/openapi") || p == "/healthz" || p == "/livez" || p == "/readyz" ||
      p == "/apis/" || group_discovery) {
    res = Discovery(req);
    resource = p;
  } else if (p == "/metrics") {
    res = Metrics();
  } else if (!SplitApiPath(p, &api_version, &api_rest)) {
    res = ErrorResponse(Status::NotFound("the server could not find the requested resource"));
  } else {
    Route r = ParseRoute(p);
    if (!r.kind) {
      res = ErrorResponse(Status::NotFound("the server could not find the requested resource (" +
                                           req.method + " " + p + ")"));
    } else {
      resource = std::string(r.kind->resource) + (r.sub.empty() ? "" : "/" + r.sub);
      if (!r.kind->namespaced && !r.ns.empty()) {
        res = ErrorResponse(Status::NotFound("the server could not find the requested resource"));
      } else {
        res = Dispatch(req, r);
      }
    }
  }
  Count(verb, resource, res.code, std::chrono::duration<double>(Clock::now() - started).count());
  res.seq = current_commit.seq;
  res.duplicate = current_commit.duplicate;
  current_commit = Committed{};
  return res;
}

EntryPtr Handlers::Current(const Committed& c, const KindInfo& kind, const std::string& ns,
                           const std::string& name) const {
  if (c.entry) return c.entry;
  EntryPtr e = store_.Get(kind.kind, ns, name);
  if (e) return e;
  // Deleted since (a concurrent request won): answer with an empty object of the kind.
  auto empty = std::make_shared<Entry>();
  empty->json = "{\"kind\":\"" + std::string(kind.kind) + "\",\"apiVersion\":\"" +
                std::string(kind.api_version) + "\"}";
  return empty;
}

Result<Committed> Handlers::Submit(const HttpRequest& req, Sequencer::Decide decide) {
  std::string dry = req.Query("dryRun");
  if (dry.empty()) {
    Provenance p = req.provenance;
    p.actor = Actor(req);
    Result<Committed> c = sequencer_.Submit(std::move(decide), std::move(p));
    if (c.ok()) current_commit = Committed{c->seq, c->type, nullptr, c->duplicate};
    return c;
  }
  if (dry != "All") {
    return Status::BadRequest("dryRun: Unsupported value: \"" + dry +
                              "\": supported values: \"All\"");
  }
  return sequencer_.DryRun(decide);
}

HttpResponse Handlers::Dispatch(const HttpRequest& req, const Route& r) {
  const std::string& m = req.method;
  if (r.sub == "scale") {
    if (r.kind->kind != "ReplicationController") {
      return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
    }
    return Scale(req, r);
  }
  if (r.sub == "binding") {
    if (r.kind->kind != "Pod" || m != "POST") {
      return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
    }
    return Bind(req, r);
  }
  if (r.sub == "log" && r.kind->kind == "Pod") {
    // A GET is a stream the transport serves before it gets here (pod_log.h); over the bus
    // command channel, or with another method, a log is not served.
    return {m == "GET" ? 400 : 405,
            "application/json",
            ErrorResponse(Status::BadRequest(m == "GET" ? "pod logs are served over HTTP only"
                                                        : "the server does not allow this "
                                                          "method on the requested resource"))
                .body,
            {}};
  }
  if (!r.sub.empty() && r.sub != "status") {
    return ErrorResponse(Status::NotFound("the server could not find the requested resource (" +
                                          std::string(r.kind->resource) + "/" + r.sub + ")"));
  }
  if (m == "GET") return r.name.empty() ? List(req, r) : Get(req, r);
  if (m == "POST" && r.name.empty() && r.sub.empty()) return Create(req, r);
  if (m == "PUT" && !r.name.empty()) return Update(req, r);
  if (m == "PATCH" && !r.name.empty()) return Patch(req, r);
  if (m == "DELETE" && !r.name.empty() && r.sub.empty()) return Delete(req, r);
  if (m == "DELETE" && r.name.empty()) return DeleteCollection(req, r);
  return {405,
          "application/json",
          ErrorResponse(Status::BadRequest("the server does not allow this method on the "
                                           "requested resource"))
              .body,
          {}};
}

// ---------------------------------------------------------------------------------------
// Reads

HttpResponse Handlers::Get(const HttpRequest& req, const Route& r) {
  EntryPtr e = store_.Get(r.kind->kind, r.ns, r.name);
  if (!e)
    return ErrorResponse(Status::NotFound(NotFoundMessage(*r.kind, r.name)), r.kind->resource,
                         r.name);
  if (WantsTable(req)) {
    std::vector<const api::Object*> objs = {&e->object};
    return Json(200, RenderTable(*r.kind, objs, std::to_string(e->seq),
                                 req.Query("includeObject") == "Object", NowNs()));
  }
  return Json(200, e->json);
}

HttpResponse Handlers::List(const HttpRequest& req, const Route& r) {
  auto sel = ParseSelectors(req, *r.kind);
  if (!sel.ok()) return ErrorResponse(sel.status());
  uint64_t head = 0;
  std::vector<EntryPtr> items = store_.List(r.kind->kind, r.ns, &head);
  if (!sel->labels.Empty() || !sel->fields.Empty()) {
    std::erase_if(items, [&](const EntryPtr& e) {
      return !MatchesSelectors(e->object, sel->labels, sel->fields);
    });
  }
  if (WantsTable(req)) {
    std::vector<const api::Object*> objs;
    for (auto& e : items) objs.push_back(&e->object);
    return Json(200, RenderTable(*r.kind, objs, std::to_string(head),
                                 req.Query("includeObject") == "Object", NowNs()));
  }
  return Json(200, ListJson(*r.kind, items, head));
}

// ---------------------------------------------------------------------------------------
// Writes

namespace {

// Decodes a request body as the route's kind; apiVersion/kind may be absent (the Python
// client omits them) but must match when present.
Result<Decoded> DecodeBody(const HttpRequest& req, const KindInfo& kind) {
  std::string ct = req.content_type.substr(0, req.content_type.find(';'));
  if (ct == kProtobufContentType) {
    KORC_ASSIGN_OR_RETURN(Decoded d, DecodeProtobuf(req.body));
    if (KindOf(d.object).kind != kind.kind) {
      return Status::BadRequest("the body is a " + std::string(KindOf(d.object).kind) +
                                ", but the URL names " + std::string(kind.resource));
    }
    return d;
  }
  if (!ct.empty() && ct != "application/json" && ct != "application/yaml" && ct != "*/*") {
    return Status(Code::kUnsupportedMediaType,
                  "the body of the request was in an unknown format - accepted media types "
                  "include: application/json, application/yaml");
  }
  if (req.body.empty())
    return Status::BadRequest("the request body is empty; send the object as JSON");
  Decoded d;
  d.object = NewObject(kind);
  Status st = Status::Ok();
  if (ct == "application/yaml") {
    auto docs = DecodeYamlStream(req.body);
    if (!docs.ok()) return docs.status();
    if (docs->size() != 1) return Status::BadRequest("expected exactly one YAML document");
    d = std::move((*docs)[0].decoded);
  } else {
    std::visit(
        [&](auto& obj) {
          using T = std::decay_t<decltype(obj)>;
          auto r = DecodeJsonAs<T>(req.body, &d.unknown_fields);
          if (r.ok()) {
            obj = std::move(r).value();
          } else {
            st = Status::BadRequest(std::string(kind.kind) + " in version \"" +
                                    std::string(kind.version()) + "\" cannot be handled as a " +
                                    std::string(kind.kind) + ": " + r.status().message());
          }
        },
        d.object);
    KORC_RETURN_IF_ERROR(st);
  }
  if (KindOf(d.object).kind != kind.kind) {
    return Status::BadRequest("the body is a " + std::string(KindOf(d.object).kind) +
                              ", but the URL names " + std::string(kind.resource));
  }
  auto& obj = d.object;
  std::string body_kind, body_api;
  std::visit([&](auto& o) { body_kind = o.kind, body_api = o.api_version; }, obj);
  if (!body_kind.empty() && body_kind != kind.kind) {
    return Status::BadRequest("the kind in the body (" + body_kind + ") does not match the URL (" +
                              std::string(kind.kind) + ")");
  }
  if (!body_api.empty() && body_api != kind.api_version) {
    return Status::BadRequest("the apiVersion in the body (" + body_api +
                              ") does not match the URL (" + std::string(kind.api_version) + ")");
  }
  std::visit([&](auto& o) { o.kind = kind.kind, o.api_version = kind.api_version; }, obj);
  return d;
}

Status CheckNamespace(const KindInfo& kind, const std::string& route_ns, api::ObjectMeta& m) {
  if (!kind.namespaced) {
    m.namespace_.clear();
    return Status::Ok();
  }
  if (m.namespace_.empty()) m.namespace_ = route_ns;
  if (m.namespace_ != route_ns) {
    return Status::BadRequest(
        "the namespace of the provided object does not match the namespace "
        "sent on the request");
  }
  return Status::Ok();
}

}  // namespace

HttpResponse Handlers::Create(const HttpRequest& req, const Route& r) {
  if (r.kind->namespaced && r.ns.empty()) {
    return ErrorResponse(Status::BadRequest("create needs a namespace: POST " +
                                            r.kind->ApiPrefix() + "/namespaces/{ns}/" +
                                            std::string(r.kind->resource)));
  }
  auto decoded = DecodeBody(req, *r.kind);
  if (!decoded.ok()) return ErrorResponse(decoded.status(), r.kind->resource);
  api::ObjectMeta& meta = api::Meta(decoded->object);
  if (Status st = CheckNamespace(*r.kind, r.ns, meta); !st.ok()) return ErrorResponse(st);
  HttpResponse res;
  FieldErrors causes;
  AdmitOptions opts;
  opts.default_namespace = r.ns;
  opts.field_validation = ValidationOf(req);
  const std::string requested_name = meta.name.empty() ? meta.generate_name : meta.name;
  auto obj = AdmitNew(std::move(decoded).value(), opts, &res.warnings, &causes);
  if (!obj.ok()) {
    return ErrorResponse(obj.status(), r.kind->resource, requested_name, r.kind->kind, causes);
  }
  std::string name = api::Meta(*obj).name;
  const KindInfo& kind = *r.kind;
  auto committed = Submit(
      req, [&, object = std::move(obj).value()](BatchView& view) -> Result<std::vector<Change>> {
        api::Object o = object;
        api::ObjectMeta& m = api::Meta(o);
        if (kind.namespaced) {
          const api::Object* ns = view.Get("Namespace", "", m.namespace_);
          if (!ns) return Status::NotFound("namespaces \"" + m.namespace_ + "\" not found");
          if (!api::Meta(*ns).deletion_timestamp.empty()) {
            return Status::Forbidden(std::string(kind.resource) + " \"" + m.name +
                                     "\" is forbidden: unable to create new content in namespace " +
                                     m.namespace_ + " because it is being terminated");
          }
        }
        if (auto* svc = std::get_if<api::Service>(&o)) {
          // The view holds this batch's earlier Services too: what they took is taken.
          ServiceAllocations in_use = InUse(view.List("Service", ""), m.namespace_, m.name);
          KORC_RETURN_IF_ERROR(Allocate(services_, in_use, nullptr, *svc, Rng(), &causes));
        }
        for (int attempt = 0; attempt < 8; ++attempt) {
          api::Object candidate = o;
          StampCreated(candidate, view.NextSeq(), NowNs());
          const api::ObjectMeta& cm = api::Meta(candidate);
          if (!view.Get(kind.kind, cm.namespace_, cm.name)) {
            return std::vector<Change>{{EventType::kAdded, std::move(candidate), "created"}};
          }
          if (m.generate_name.empty() || !m.name.empty()) break;  // a fixed name: it exists
        }
        return Status::AlreadyExists(std::string(kind.resource) + " \"" + m.name +
                                     "\" already exists");
      });
  if (!committed.ok()) {
    return ErrorResponse(committed.status(), r.kind->resource, name, r.kind->kind, causes);
  }
  res.code = committed->duplicate ? 200 : 201;
  res.body = Current(*committed, kind, r.ns, name)->json;
  return res;
}

namespace {

// "updated spec, labels": which parts of an object a change touched, for the log's reason.
std::string UpdateReason(const api::Object& before, const api::Object& after) {
  std::vector<std::string> parts;
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        const T& a = std::get<T>(after);
        if constexpr (requires { b.spec; }) {
          if (!(b.spec == a.spec)) parts.push_back("spec");
        }
        if constexpr (requires { b.subsets; }) {
          if (!(b.subsets == a.subsets)) parts.push_back("subsets");
        }
        if constexpr (requires { b.status; }) {
          if (!(b.status == a.status)) parts.push_back("status");
        }
        if constexpr (std::is_same_v<T, api::Secret>) {  // which parts, never what they hold
          if (b.data != a.data) parts.push_back("data");
          if (b.immutable != a.immutable) parts.push_back("immutable");
        }
        if (b.metadata.labels != a.metadata.labels) parts.push_back("labels");
        if (b.metadata.annotations != a.metadata.annotations) parts.push_back("annotations");
        if (!(b.metadata.owner_references == a.metadata.owner_references)) {
          parts.push_back("ownerReferences");
        }
        if (b.metadata.finalizers != a.metadata.finalizers) parts.push_back("finalizers");
      },
      before);
  std::string out = "updated";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : " ") + parts[i];
  return out;
}

// Decides an update of the object at (kind, ns, name) to `incoming` (already decoded as
// that kind): precondition on resourceVersion, status kept apart, server fields carried
// over, then defaulting and validation of the result; a Service keeps or gets its
// allocations from `services`.
Result<std::vector<Change>> DecideUpdate(BatchView& view, const KindInfo& kind,
                                         const std::string& ns, const std::string& name,
                                         api::Object incoming, bool status_only,
                                         const ServiceRanges& services, FieldErrors* causes) {
  const api::Object* cur = view.Get(kind.kind, ns, name);
  if (!cur) return Status::NotFound(NotFoundMessage(kind, name));
  const api::ObjectMeta& cm = api::Meta(*cur);
  api::ObjectMeta& im = api::Meta(incoming);
  if (!im.name.empty() && im.name != name) {
    return Status::BadRequest("the name of the object (" + im.name +
                              ") does not match the name on the URL (" + name + ")");
  }
  if (!im.uid.empty() && im.uid != cm.uid) {
    return Status::Conflict("Operation cannot be fulfilled on " + std::string(kind.resource) +
                            " \"" + name + "\": Precondition failed: UID in precondition: " +
                            im.uid + ", UID in object meta: " + cm.uid);
  }
  if (!im.resource_version.empty() && im.resource_version != cm.resource_version) {
    return Status::Conflict("Operation cannot be fulfilled on " + std::string(kind.resource) +
                            " \"" + name +
                            "\": the object has been modified; please apply your changes "
                            "to the latest version and try again");
  }
  api::Object result = std::move(incoming);
  if (status_only) {
    CopyAllButStatus(*cur, result);
  } else if (HasStatusSubresource(kind)) {
    CopyStatus(*cur, result);
  }
  const auto* cur_service = std::get_if<api::Service>(cur);
  auto* service = status_only ? nullptr : std::get_if<api::Service>(&result);
  // Before validation, which would refuse node ports a type change leaves behind.
  if (cur_service && service) CarryOverAllocations(*cur_service, *service);
  StampUpdated(*cur, result, view.NextSeq());
  api::ObjectMeta& rm = api::Meta(result);
  rm.deletion_timestamp = cm.deletion_timestamp;
  rm.deletion_grace_period_seconds = cm.deletion_grace_period_seconds;
  KORC_RETURN_IF_ERROR(DefaultAndValidate(result, causes));
  if (FieldErrors immutable = ValidateUpdate(*cur, result); !immutable.empty()) {
    Status st = InvalidStatus(kind.kind, name, immutable);
    if (causes) *causes = std::move(immutable);
    return st;
  }
  if (cur_service && service) {
    ServiceAllocations in_use = InUse(view.List("Service", ""), ns, name);
    KORC_RETURN_IF_ERROR(Allocate(services, in_use, cur_service, *service, Rng(), causes));
  }
  // Again, now that the spec is as it will be stored: generation counts spec changes, and a
  // manifest PUT as written (without the defaults) is not one.
  StampUpdated(*cur, result, view.NextSeq());
  if (kind.kind == "Pod" && !status_only) {
    // Kubernetes forbids most pod spec changes; korc allows none but the node binding via
    // the binding subresource.
    const auto& a = std::get<api::Pod>(*cur).spec;
    const auto& b = std::get<api::Pod>(result).spec;
    if (!(a == b)) {
      return Status::Invalid("Pod \"" + name +
                             "\" is invalid: spec: Forbidden: pod updates may "
                             "not change fields other than `spec.containers[*].image`, "
                             "`spec.activeDeadlineSeconds` or `spec.tolerations` (korc: a pod's "
                             "spec is immutable; delete and recreate it)");
    }
  }
  api::Object unchanged = *cur;
  api::Meta(unchanged).resource_version = rm.resource_version;
  if (EncodeJson(unchanged) == EncodeJson(result)) return std::vector<Change>{};  // no-op
  if (!cm.deletion_timestamp.empty() && !cm.finalizers.empty() && rm.finalizers.empty() &&
      cm.deletion_grace_period_seconds.value_or(0) == 0) {
    // The last finalizer is gone: the deletion it held back happens now.
    return std::vector<Change>{
        {EventType::kDeleted, std::move(result), "deleted: its last finalizer was removed"}};
  }
  std::string reason = UpdateReason(*cur, result);  // before `result` is moved from
  return std::vector<Change>{{EventType::kModified, std::move(result), std::move(reason)}};
}

}  // namespace

HttpResponse Handlers::Update(const HttpRequest& req, const Route& r) {
  auto decoded = DecodeBody(req, *r.kind);
  if (!decoded.ok()) return ErrorResponse(decoded.status(), r.kind->resource, r.name);
  HttpResponse res;
  if (Status st = CheckUnknownFields(decoded->unknown_fields, ValidationOf(req), &res.warnings);
      !st.ok()) {
    return ErrorResponse(st);
  }
  api::ObjectMeta& meta = api::Meta(decoded->object);
  if (Status st = CheckNamespace(*r.kind, r.ns, meta); !st.ok()) return ErrorResponse(st);
  FieldErrors causes;
  const KindInfo& kind = *r.kind;
  bool status_only = r.sub == "status";
  auto committed = Submit(req, [&, object = std::move(decoded->object)](BatchView& view) {
    return DecideUpdate(view, kind, r.ns, r.name, object, status_only, services_, &causes);
  });
  if (!committed.ok()) {
    return ErrorResponse(committed.status(), r.kind->resource, r.name, r.kind->kind, causes);
  }
  res.body = Current(*committed, kind, r.ns, r.name)->json;
  return res;
}

HttpResponse Handlers::Patch(const HttpRequest& req, const Route& r) {
  auto type = ParsePatchType(req.content_type);
  if (!type) {
    return ErrorResponse(Status(Code::kUnsupportedMediaType,
                                "the body of the request was in an unknown format - accepted "
                                "media types include: application/json-patch+json, "
                                "application/merge-patch+json, "
                                "application/strategic-merge-patch+json"));
  }
  FieldErrors causes;
  HttpResponse res;
  const KindInfo& kind = *r.kind;
  bool status_only = r.sub == "status";
  FieldValidation policy = ValidationOf(req);
  auto committed = Submit(req, [&](BatchView& view) -> Result<std::vector<Change>> {
    const api::Object* cur = view.Get(kind.kind, r.ns, r.name);
    if (!cur) return Status::NotFound(NotFoundMessage(kind, r.name));
    KORC_ASSIGN_OR_RETURN(std::string patched,
                          ApplyPatch(kind.kind, EncodeJson(*cur), req.body, *type));
    HttpRequest as_put;
    as_put.body = std::move(patched);
    KORC_ASSIGN_OR_RETURN(Decoded d, DecodeBody(as_put, kind));
    KORC_RETURN_IF_ERROR(CheckUnknownFields(d.unknown_fields, policy, &res.warnings));
    // A patch carries the current resourceVersion unless it set one itself.
    return DecideUpdate(view, kind, r.ns, r.name, std::move(d.object), status_only, services_,
                        &causes);
  });
  if (!committed.ok()) {
    return ErrorResponse(committed.status(), r.kind->resource, r.name, r.kind->kind, causes);
  }
  res.body = Current(*committed, kind, r.ns, r.name)->json;
  return res;
}

namespace {

struct DeleteOptions {
  bool dry_run = false;  // DeleteOptions.dryRun: ["All"] (the query parameter works too)
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;
  std::string precondition_uid, precondition_rv;
};

Result<DeleteOptions> ParseDeleteOptions(const HttpRequest& req) {
  DeleteOptions o;
  if (!req.body.empty()) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::BadRequest("the DeleteOptions body is not a JSON object");
    }
    if (j.contains("gracePeriodSeconds") && j["gracePeriodSeconds"].is_number_integer()) {
      o.grace_period_seconds = j["gracePeriodSeconds"].get<int64_t>();
    }
    if (j.contains("dryRun") && j["dryRun"].is_array()) {
      for (const auto& v : j["dryRun"]) {
        if (v != "All")
          return Status::BadRequest("dryRun: Unsupported value: " + v.dump() +
                                    ": supported values: \"All\"");
        o.dry_run = true;
      }
    }
    if (j.contains("propagationPolicy") && j["propagationPolicy"].is_string()) {
      o.propagation_policy = j["propagationPolicy"].get<std::string>();
    }
    if (j.contains("preconditions") && j["preconditions"].is_object()) {
      auto& p = j["preconditions"];
      if (p.contains("uid") && p["uid"].is_string()) o.precondition_uid = p["uid"];
      if (p.contains("resourceVersion") && p["resourceVersion"].is_string()) {
        o.precondition_rv = p["resourceVersion"];
      }
    }
  }
  if (auto g = req.Query("gracePeriodSeconds"); !g.empty()) {
    try {
      o.grace_period_seconds = std::stoll(g);
    } catch (...) {
      return Status::BadRequest("gracePeriodSeconds must be an integer, not \"" + g + "\"");
    }
  }
  if (auto p = req.Query("propagationPolicy"); !p.empty()) o.propagation_policy = p;
  if (!o.propagation_policy.empty() && o.propagation_policy != "Background" &&
      o.propagation_policy != "Foreground" && o.propagation_policy != "Orphan") {
    return Status::BadRequest("propagationPolicy: Unsupported value: \"" + o.propagation_policy +
                              "\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
  }
  return o;
}

// The changes that delete one object: a Pod on a node first gets a deletion timestamp and
// grace period (its kubelet stops it, then confirms with a zero-grace delete); everything
// else goes at once. Deleting a Namespace deletes what is in it.
Result<std::vector<Change>> DecideDelete(BatchView& view, const KindInfo& kind,
                                         const std::string& ns, const std::string& name,
                                         const DeleteOptions& opts) {
  const api::Object* cur = view.Get(kind.kind, ns, name);
  if (!cur) return Status::NotFound(NotFoundMessage(kind, name));
  const api::ObjectMeta& m = api::Meta(*cur);
  if (!opts.precondition_uid.empty() && opts.precondition_uid != m.uid) {
    return Status::Conflict("Operation cannot be fulfilled on " + std::string(kind.resource) +
                            " \"" + name + "\": Precondition failed: UID in precondition: " +
                            opts.precondition_uid + ", UID in object meta: " + m.uid);
  }
  if (!opts.precondition_rv.empty() && opts.precondition_rv != m.resource_version) {
    return Status::Conflict("Operation cannot be fulfilled on " + std::string(kind.resource) +
                            " \"" + name +
                            "\": Precondition failed: ResourceVersion in "
                            "precondition: " +
                            opts.precondition_rv +
                            ", ResourceVersion in "
                            "object meta: " +
                            m.resource_version);
  }
  std::vector<Change> changes;
  // Foreground and Orphan deletions, and objects that already carry finalizers, are marked
  // (deletionTimestamp) rather than removed; the garbage collector does the work the
  // finalizer names and removes it, and the update that removes the last one deletes.
  std::vector<std::string> finalizers = m.finalizers;
  if (opts.propagation_policy == "Foreground" || opts.propagation_policy == "Orphan") {
    std::string f = opts.propagation_policy == "Foreground" ? "foregroundDeletion" : "orphan";
    if (std::find(finalizers.begin(), finalizers.end(), f) == finalizers.end()) {
      finalizers.push_back(f);
    }
  }
  const bool bound_pod = kind.kind == "Pod" && !std::get<api::Pod>(*cur).spec.node_name.empty();
  if (!finalizers.empty() && kind.kind != "Namespace" && !bound_pod) {
    if (!m.deletion_timestamp.empty() && finalizers == m.finalizers) return changes;
    api::Object next = *cur;
    api::ObjectMeta& nm = api::Meta(next);
    if (nm.deletion_timestamp.empty()) {
      int64_t now = NowNs();
      nm.deletion_timestamp.unix_ns = now - now % 1'000'000'000;
      nm.deletion_grace_period_seconds = 0;
    }
    nm.finalizers = finalizers;
    std::string names;
    for (const auto& f : finalizers) names += (names.empty() ? "" : ", ") + f;
    changes.push_back(
        {EventType::kModified, std::move(next),
         "deletion requested" +
             (opts.propagation_policy.empty() ? std::string()
                                              : " (" + opts.propagation_policy + ")") +
             "; waiting for finalizers: " + names});
    return changes;
  }
  if (const auto* pod = std::get_if<api::Pod>(cur)) {
    int64_t grace =
        opts.grace_period_seconds.value_or(pod->spec.termination_grace_period_seconds.value_or(30));
    bool terminal = pod->status.phase == "Succeeded" || pod->status.phase == "Failed";
    if (!pod->spec.node_name.empty() && grace > 0 && !terminal) {
      if (!m.deletion_timestamp.empty()) return std::vector<Change>{};  // already terminating
      api::Object next = *cur;
      api::ObjectMeta& nm = api::Meta(next);
      int64_t now = NowNs();
      nm.deletion_timestamp.unix_ns = now - now % 1'000'000'000 + grace * 1'000'000'000;
      nm.deletion_grace_period_seconds = grace;
      nm.generation += 1;
      changes.push_back({EventType::kModified, std::move(next),
                         "deletion requested; waiting up to " + std::to_string(grace) +
                             "s for the kubelet to stop it"});
      return changes;
    }
  }
  if (kind.kind == "Namespace") {
    for (const KindInfo& k : Kinds()) {
      if (!k.namespaced) continue;
      for (const api::Object* o : view.List(k.kind, name)) {
        changes.push_back({EventType::kDeleted, *o, "its namespace " + name + " was deleted"});
      }
    }
  }
  changes.insert(changes.begin(), Change{EventType::kDeleted, *cur, "deleted"});
  return changes;
}

}  // namespace

HttpResponse Handlers::Delete(const HttpRequest& req, const Route& r) {
  auto opts = ParseDeleteOptions(req);
  if (!opts.ok()) return ErrorResponse(opts.status());
  const KindInfo& kind = *r.kind;
  HttpRequest with_dry_run = req;
  if (opts->dry_run) with_dry_run.query["dryRun"] = "All";
  auto committed = Submit(
      with_dry_run, [&](BatchView& view) { return DecideDelete(view, kind, r.ns, r.name, *opts); });
  if (!committed.ok()) return ErrorResponse(committed.status(), kind.resource, r.name);
  EntryPtr e = Current(*committed, kind, r.ns, r.name);
  // Pods answer with the Pod (terminating, or its last state); an object whose finalizers
  // hold it back with the object; other deletions with a Status.
  if (kind.kind == "Pod" || committed->type == EventType::kModified) return Json(200, e->json);
  return Json(200, SuccessStatus(kind, api::Meta(e->object)));
}

HttpResponse Handlers::DeleteCollection(const HttpRequest& req, const Route& r) {
  auto sel = ParseSelectors(req, *r.kind);
  if (!sel.ok()) return ErrorResponse(sel.status());
  auto opts = ParseDeleteOptions(req);
  if (!opts.ok()) return ErrorResponse(opts.status());
  const KindInfo& kind = *r.kind;
  std::vector<EntryPtr> items = store_.List(kind.kind, r.ns);
  std::vector<EntryPtr> deleted;
  for (auto& e : items) {
    if (!MatchesSelectors(e->object, sel->labels, sel->fields)) continue;
    const api::ObjectMeta& m = api::Meta(e->object);
    auto c = Submit(req, [&](BatchView& view) {
      return DecideDelete(view, kind, m.namespace_, m.name, *opts);
    });
    if (c.ok() && c->entry) deleted.push_back(c->entry);
  }
  return Json(200, ListJson(kind, deleted, store_.head()));
}

// ---------------------------------------------------------------------------------------
// Subresources

namespace {
std::string ScaleJson(const api::ReplicationController& rc) {
  nlohmann::json j;
  j["kind"] = "Scale";
  j["apiVersion"] = "autoscaling/v1";
  j["metadata"] = {
      {"name", rc.metadata.name},
      {"namespace", rc.metadata.namespace_},
      {"uid", rc.metadata.uid},
      {"resourceVersion", rc.metadata.resource_version},
      {"creationTimestamp", api::FormatRfc3339(rc.metadata.creation_timestamp.unix_ns)}};
  j["spec"] = {{"replicas", rc.spec.replicas.value_or(1)}};
  j["status"] = {{"replicas", rc.status.replicas},
                 {"selector", LabelSelector::FromMap(rc.spec.selector).ToString()}};
  return j.dump();
}
}  // namespace

HttpResponse Handlers::Scale(const HttpRequest& req, const Route& r) {
  const KindInfo& kind = *r.kind;
  if (req.method == "GET") {
    EntryPtr e = store_.Get(kind.kind, r.ns, r.name);
    if (!e)
      return ErrorResponse(Status::NotFound(NotFoundMessage(kind, r.name)), kind.resource, r.name);
    return Json(200, ScaleJson(std::get<api::ReplicationController>(e->object)));
  }
  if (req.method != "PUT" && req.method != "PATCH") {
    return ErrorResponse(Status::BadRequest("scale supports GET, PUT and PATCH"));
  }
  std::optional<PatchType> type;
  if (req.method == "PATCH") {
    type = ParsePatchType(req.content_type);
    if (!type) {
      return ErrorResponse(
          Status(Code::kUnsupportedMediaType, "unsupported patch type: " + req.content_type));
    }
  }
  FieldErrors causes;
  auto committed = Submit(req, [&](BatchView& view) -> Result<std::vector<Change>> {
    const api::Object* cur = view.Get(kind.kind, r.ns, r.name);
    if (!cur) return Status::NotFound(NotFoundMessage(kind, r.name));
    const auto& rc = std::get<api::ReplicationController>(*cur);
    std::string scale_json = req.body;
    if (type) {
      KORC_ASSIGN_OR_RETURN(scale_json, ApplyPatch("Scale", ScaleJson(rc), req.body, *type));
    }
    auto j = nlohmann::json::parse(scale_json, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::BadRequest("the Scale body is not a JSON object");
    if (!j.contains("spec") || !j["spec"].contains("replicas") ||
        !j["spec"]["replicas"].is_number_integer()) {
      return Status::BadRequest("a Scale needs spec.replicas as an integer");
    }
    int64_t replicas = j["spec"]["replicas"].get<int64_t>();
    if (replicas < 0 || replicas > INT32_MAX) {
      causes = {{FieldErrorType::kInvalid, "spec.replicas", std::to_string(replicas),
                 "must be greater than or equal to 0"}};
      return InvalidStatus("Scale", r.name, causes);
    }
    std::string rv;
    if (j.contains("metadata") && j["metadata"].is_object() &&
        j["metadata"].contains("resourceVersion") && j["metadata"]["resourceVersion"].is_string()) {
      rv = j["metadata"]["resourceVersion"];
    }
    api::Object next = *cur;
    std::get<api::ReplicationController>(next).spec.replicas = static_cast<int32_t>(replicas);
    api::Meta(next).resource_version = type ? "" : rv;
    KORC_ASSIGN_OR_RETURN(auto changes, DecideUpdate(view, kind, r.ns, r.name, std::move(next),
                                                     false, services_, &causes));
    if (!changes.empty()) {
      changes[0].reason = "scaled from " + std::to_string(rc.spec.replicas.value_or(1)) + " to " +
                          std::to_string(replicas) + " replicas";
    }
    return changes;
  });
  if (!committed.ok())
    return ErrorResponse(committed.status(), kind.resource, r.name, "Scale", causes);
  EntryPtr e = Current(*committed, kind, r.ns, r.name);
  return Json(200, ScaleJson(std::get<api::ReplicationController>(e->object)));
}

HttpResponse Handlers::Bind(const HttpRequest& req, const Route& r) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return ErrorResponse(Status::BadRequest("the Binding body is not a JSON object"));
  std::string node;
  if (j.contains("target") && j["target"].is_object() && j["target"].contains("name") &&
      j["target"]["name"].is_string()) {
    node = j["target"]["name"];
  }
  if (node.empty()) {
    FieldErrors causes = {{FieldErrorType::kRequired, "target.name", "", ""}};
    return ErrorResponse(InvalidStatus("Binding", r.name, causes), "bindings", r.name, "Binding",
                         causes);
  }
  auto committed = Submit(req, [&](BatchView& view) -> Result<std::vector<Change>> {
    const api::Object* cur = view.Get("Pod", r.ns, r.name);
    if (!cur) return Status::NotFound(NotFoundMessage(*r.kind, r.name));
    const auto& pod = std::get<api::Pod>(*cur);
    if (!pod.spec.node_name.empty()) {
      return Status::Conflict("Operation cannot be fulfilled on pods/binding \"" + r.name +
                              "\": pod " + r.name + " is already assigned to node \"" +
                              pod.spec.node_name + "\"");
    }
    if (!pod.metadata.deletion_timestamp.empty()) {
      return Status::Conflict("pod " + r.name + " is being deleted, cannot be assigned to a host");
    }
    api::Object next = *cur;
    auto& np = std::get<api::Pod>(next);
    np.spec.node_name = node;
    np.metadata.resource_version = std::to_string(view.NextSeq());
    api::PodCondition scheduled{
        "PodScheduled", "True", {}, {NowNs() - NowNs() % 1'000'000'000}, "", ""};
    std::erase_if(np.status.conditions, [](const auto& c) { return c.type == "PodScheduled"; });
    np.status.conditions.insert(np.status.conditions.begin(), scheduled);
    return std::vector<Change>{{EventType::kModified, std::move(next), "bound to node " + node}};
  });
  if (!committed.ok()) return ErrorResponse(committed.status(), "pods", r.name);
  return Json(201,
              R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","code":201})");
}

// ---------------------------------------------------------------------------------------
// Watch

void Handlers::Watch(const HttpRequest& req, const std::function<void(const HttpResponse&)>& begin,
                     const std::function<bool(std::string_view)>& write,
                     const std::atomic<bool>& stopping) {
  if (req.path == "/korc/v1/log") return AuditLog(req, begin, write, stopping);
  HttpRequest q = req;
  if (auto unwatched = UnwatchPath(q.path)) q.path = std::move(*unwatched);
  // Route like any GET of a collection (or of one object: a field selector on its name).
  Route r = ParseRoute(q.path);
  if (!r.sub.empty()) r.kind = nullptr;  // subresources are not watched
  if (!r.kind) {
    begin(ErrorResponse(Status::NotFound("the server could not find the requested resource")));
    return;
  }
  auto sel = ParseSelectors(q, *r.kind);
  if (!sel.ok()) return begin(ErrorResponse(sel.status()));
  auto rv = ParseResourceVersion(q.Query("resourceVersion"));
  if (!rv.ok()) return begin(ErrorResponse(rv.status()));
  int64_t timeout_s = 1800;
  if (auto t = q.Query("timeoutSeconds"); !t.empty()) {
    try {
      timeout_s = std::stoll(t);
    } catch (...) {
      return begin(ErrorResponse(Status::BadRequest("timeoutSeconds must be an integer")));
    }
  }
  const bool bookmarks = q.QueryBool("allowWatchBookmarks");
  const bool table = WantsTable(q);
  const bool include_object = q.Query("includeObject") == "Object";
  const KindInfo& kind = *r.kind;

  auto matches = [&](const api::Object& o) {
    const api::ObjectMeta& m = api::Meta(o);
    if (KindOf(o).kind != kind.kind) return false;
    if (!r.ns.empty() && m.namespace_ != r.ns) return false;
    if (!r.name.empty() && m.name != r.name) return false;
    return MatchesSelectors(o, sel->labels, sel->fields);
  };
  auto line = [&](std::string_view type, const api::Object& o, const std::string& json) {
    std::string out = "{\"type\":\"";
    out += type;
    out += "\",\"object\":";
    if (table) {
      std::vector<const api::Object*> objs = {&o};
      out += RenderTable(kind, objs, api::Meta(o).resource_version, include_object, NowNs());
    } else {
      out += json;
    }
    out += "}\n";
    return out;
  };

  uint64_t head = 0;
  std::shared_ptr<Watcher> watcher = hub_.Register(store_, &head);
  struct Unregister {
    WatchHub& hub;
    std::shared_ptr<Watcher> w;
    ~Unregister() { hub.Unregister(w); }
  } unregister{hub_, watcher};

  begin(HttpResponse{200, "application/json", {}, {}});
  uint64_t floor = 0;  // events at or below this seq were already sent
  if (*rv == 0) {
    // The current state as ADDED, in ascending resourceVersion, then follow.
    uint64_t list_head = 0;
    std::vector<EntryPtr> items = store_.List(kind.kind, r.ns, &list_head);
    std::sort(items.begin(), items.end(),
              [](const EntryPtr& a, const EntryPtr& b) { return a->seq < b->seq; });
    for (auto& e : items) {
      if (matches(e->object) && !write(line("ADDED", e->object, e->json))) return;
    }
    floor = list_head;
    if (q.QueryBool("sendInitialEvents") || bookmarks) {
      std::string bm = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + std::string(kind.kind) +
                       "\",\"apiVersion\":\"" + std::string(kind.api_version) +
                       "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(list_head) +
                       "\",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n";
      if (q.QueryBool("sendInitialEvents") && !write(bm)) return;
    }
  } else {
    floor = *rv;
    if (*rv < log_.FirstAvailable() - 1) {
      api::StatusObject s;
      s.api_version = "v1";
      s.kind = "Status";
      s.status = "Failure";
      s.reason = "Expired";
      s.code = 410;
      s.message = "too old resource version: " + std::to_string(*rv) + " (" +
                  std::to_string(log_.FirstAvailable() - 1) + ")";
      write("{\"type\":\"ERROR\",\"object\":" + EncodeJsonAs(s) + "}\n");
      return;
    }
    // History between the requested point and the registration, from the log.
    std::vector<std::string> lines;
    Status st = log_.ReadEvents(*rv + 1, head, [&](Event& e) {
      if (e.kind != kind.kind) return true;
      auto d = DecodeJson(e.object);
      if (d.ok() && matches(d->object)) {
        lines.push_back(line(EventTypeName(e.type), d->object, e.object));
      }
      return true;
    });
    if (!st.ok()) return;
    for (auto& l : lines) {
      if (!write(l)) return;
    }
    floor = std::max(floor, head);
  }

  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  auto next_bookmark = Clock::now() + std::chrono::seconds(10);
  uint64_t last_seq = floor;
  // The deadline is checked every turn, not only when idle: a busy cluster must not keep a
  // watch open past its timeoutSeconds.
  while (!stopping.load() && Clock::now() < deadline) {
    auto wake = std::min(deadline, bookmarks ? next_bookmark : deadline);
    wake = std::min(wake, Clock::now() + std::chrono::milliseconds(500));  // notice `stopping`
    WatchEventPtr ev;
    auto got = watcher->Next(wake, &ev);
    if (got == Watcher::Pop::kClosed) return;
    if (got == Watcher::Pop::kEvent) {
      if (ev->entry->seq <= floor) continue;
      last_seq = ev->entry->seq;
      if (!matches(ev->entry->object)) continue;
      if (!write(line(EventTypeName(ev->type), ev->entry->object, ev->entry->json))) return;
      continue;
    }
    if (Clock::now() >= deadline) return;
    if (bookmarks && Clock::now() >= next_bookmark) {
      next_bookmark = Clock::now() + std::chrono::seconds(10);
      std::string bm = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" + std::string(kind.kind) +
                       "\",\"apiVersion\":\"" + std::string(kind.api_version) +
                       "\",\"metadata\":{\"resourceVersion\":\"" +
                       std::to_string(std::max(last_seq, store_.head())) + "\"}}}\n";
      if (!write(bm)) return;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The audit log

namespace {

// One log record as a JSON line for `korc events` and jq.
std::string RecordJson(const Event& e, const std::string* object) {
  nlohmann::json j = {{"seq", e.seq},
                      {"time", api::FormatRfc3339(e.time_ns, true)},
                      {"type", EventTypeName(e.type)},
                      {"kind", e.kind},
                      {"namespace", e.ns},
                      {"name", e.name},
                      {"uid", e.uid},
                      {"actor", e.actor},
                      {"cause", e.cause},
                      {"basis", e.basis},
                      {"reason", e.reason}};
  std::string out = j.dump();
  if (object) {
    out.pop_back();
    out += ",\"object\":" + *object + "}";
  }
  return out + "\n";
}

}  // namespace

void Handlers::AuditLog(const HttpRequest& req,
                        const std::function<void(const HttpResponse&)>& begin,
                        const std::function<bool(std::string_view)>& write,
                        const std::atomic<bool>& stopping) {
  const std::string kind = req.Query("kind"), ns = req.Query("namespace"), name = req.Query("name"),
                    actor = req.Query("actor");
  const bool follow = req.QueryBool("follow"), with_object = req.QueryBool("includeObject");
  std::string kind_name = kind;
  if (!kind.empty()) {
    const KindInfo* k = FindResource(kind);
    if (!k) return begin(ErrorResponse(Status::BadRequest("unknown kind \"" + kind + "\"")));
    kind_name = k->kind;
  }
  uint64_t after = 0;
  if (std::string since = req.Query("since"); !since.empty()) {
    auto seq = ParseResourceVersion(since);
    if (seq.ok()) {
      after = *seq;
    } else {
      auto t = api::ParseRfc3339(since);
      if (!t) {
        return begin(ErrorResponse(
            Status::BadRequest("since must be a seq or an RFC 3339 time, not \"" + since + "\"")));
      }
      auto at = storage::SeqAtTime(log_, *t - 1);
      if (!at.ok()) return begin(ErrorResponse(at.status()));
      after = *at;
    }
  }
  auto keep = [&](const Event& e) {
    return (kind_name.empty() || e.kind == kind_name) && (ns.empty() || e.ns == ns) &&
           (name.empty() || e.name == name) && (actor.empty() || e.actor == actor);
  };
  uint64_t head = 0;
  std::shared_ptr<Watcher> watcher = hub_.Register(store_, &head);
  struct Unregister {
    WatchHub& hub;
    std::shared_ptr<Watcher> w;
    ~Unregister() { hub.Unregister(w); }
  } unregister{hub_, watcher};
  if (after + 1 < log_.FirstAvailable()) {
    return begin(ErrorResponse(Status::Expired(
        "events up to seq " + std::to_string(log_.FirstAvailable() - 1) +
        " were compacted; ask for since=" + std::to_string(log_.FirstAvailable() - 1))));
  }
  begin(HttpResponse{200, "application/json", {}, {}});
  bool alive = true;
  if (after < head) {
    Status st = log_.ReadEvents(after + 1, head, [&](Event& e) {
      if (keep(e)) alive = write(RecordJson(e, with_object ? &e.object : nullptr));
      return alive && !stopping.load();
    });
    if (!st.ok() || !alive) return;
  }
  if (!follow) return;
  while (!stopping.load()) {
    WatchEventPtr ev;
    auto got = watcher->Next(Clock::now() + std::chrono::milliseconds(500), &ev);
    if (got == Watcher::Pop::kClosed) return;
    if (got != Watcher::Pop::kEvent || ev->record->seq <= head || !keep(*ev->record)) continue;
    if (!write(RecordJson(*ev->record, with_object ? &ev->entry->json : nullptr))) return;
  }
}

// ---------------------------------------------------------------------------------------
// Namespaces that exist from the start

Status Handlers::EnsureNamespaces(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (store_.Get("Namespace", "", n)) continue;
    auto c = sequencer_.Submit(
        [&](BatchView& view) -> Result<std::vector<Change>> {
          if (view.Get("Namespace", "", n)) return std::vector<Change>{};
          api::Namespace ns;
          ns.api_version = "v1";
          ns.kind = "Namespace";
          ns.metadata.name = n;
          ns.metadata.labels = {{"kubernetes.io/metadata.name", n}};
          ns.spec.finalizers = {"kubernetes"};
          ns.status.phase = "Active";
          api::Object o = ns;
          StampCreated(o, view.NextSeq(), NowNs());
          return std::vector<Change>{{EventType::kAdded, std::move(o),
                                      "the API server creates the " + n + " namespace at start"}};
        },
        Provenance{.actor = "system:apiserver"});
    if (!c.ok()) return c.status();
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Metrics

void Handlers::Count(const std::string& verb, const std::string& resource, int code,
                     double seconds) {
  std::lock_guard lock(metrics_mu_);
  auto& c = requests_[verb + "|" + resource + "|" + std::to_string(code)];
  c.count++;
  c.seconds += seconds;
}

HttpResponse Handlers::Metrics() {
  std::string out;
  out += "# HELP korc_apiserver_requests_total Requests by verb, resource and code.\n";
  out += "# TYPE korc_apiserver_requests_total counter\n";
  std::string sums;
  {
    std::lock_guard lock(metrics_mu_);
    for (const auto& [key, c] : requests_) {
      auto a = key.find('|'), b = key.rfind('|');
      std::string labels = "verb=\"" + key.substr(0, a) + "\",resource=\"" +
                           key.substr(a + 1, b - a - 1) + "\",code=\"" + key.substr(b + 1) + "\"";
      out += "korc_apiserver_requests_total{" + labels + "} " + std::to_string(c.count) + "\n";
      sums += "korc_apiserver_request_duration_seconds_sum{" + labels + "} " +
              std::to_string(c.seconds) + "\n";
    }
  }
  out += "# HELP korc_apiserver_request_duration_seconds_sum Time spent serving requests.\n";
  out += "# TYPE korc_apiserver_request_duration_seconds_sum counter\n" + sums;
  out += "# HELP korc_log_head_seq The seq of the last committed event.\n";
  out +=
      "# TYPE korc_log_head_seq gauge\nkorc_log_head_seq " + std::to_string(store_.head()) + "\n";
  out += "# HELP korc_commit_batches_total Group commits (one fsync each).\n";
  out += "# TYPE korc_commit_batches_total counter\nkorc_commit_batches_total " +
         std::to_string(sequencer_.batches()) + "\n";
  out +=
      "# HELP korc_commit_requests_total Requests committed; divided by batches, the mean "
      "batch size.\n";
  out += "# TYPE korc_commit_requests_total counter\nkorc_commit_requests_total " +
         std::to_string(sequencer_.batched_requests()) + "\n";
  out += "# HELP korc_apiserver_watches Open watches.\n";
  out += "# TYPE korc_apiserver_watches gauge\nkorc_apiserver_watches " +
         std::to_string(hub_.size()) + "\n";
  return {200, "text/plain; version=0.0.4", out, {}};
}

}  // namespace korc::apiserver
