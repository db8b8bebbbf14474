"""An independent Berth client: Debian's python3-grpcio with stubs protoc generated from
Berth's .proto files. It drives one lease through its life against a running berthd, checks the
error codes and the grpc.health.v1 service, and prints one JSON object with what it saw; the
TypeScript test asserts on it.

usage: berth_client.py STUBS_DIR HOST:PORT
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from berth.v1 import lease_pb2, lease_pb2_grpc, admin_pb2, admin_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402  (grpc.health.v1, generated flat: a grpc/ folder would shadow grpcio)
import health_pb2_grpc  # noqa: E402
from google.rpc import status_pb2  # noqa: E402

address = sys.argv[2]
channel = grpc.insecure_channel(address)
grpc.channel_ready_future(channel).result(timeout=10)
leases = lease_pb2_grpc.LeaseServiceStub(channel)
repository = admin_pb2_grpc.RepositoryServiceStub(channel)
health = health_pb2_grpc.HealthStub(channel)
TIMEOUT = 20
out = {}


def phase(value):
    return lease_pb2.LeasePhase.Name(value)


def failure(call):
    """The code name, message and BadRequest field paths of a call that must fail."""
    try:
        call()
    except grpc.RpcError as error:
        fields = []
        for key, value in error.trailing_metadata() or ():
            if key != "grpc-status-details-bin":
                continue
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.type_url == "type.googleapis.com/google.rpc.BadRequest":
                    bad = status_pb2.BadRequest.FromString(detail.value)
                    fields += [v.field for v in bad.field_violations]
        return {"code": error.code().name, "details": error.details(), "fields": fields}
    return {"code": "OK"}


def spec(name, **extra):
    return lease_pb2.LeaseSpec(
        name=name,
        models=[lease_pb2.ModelRef(name="simple")],
        resources=lease_pb2.Resources(gpu_memory="1Gi"),
        labels={"client": "python"},
        **extra,
    )


# grpc.health.v1: the whole server, one Berth service, and a service berthd does not have.
out["health"] = {
    "overall": health_pb2.HealthCheckResponse.ServingStatus.Name(health.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT).status),
    "lease_service": health_pb2.HealthCheckResponse.ServingStatus.Name(
        health.Check(health_pb2.HealthCheckRequest(service="berth.v1.LeaseService"), timeout=TIMEOUT).status
    ),
    "unknown": failure(lambda: health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=TIMEOUT)),
}

out["models"] = sorted(m.name for m in repository.ListModels(admin_pb2.ListModelsRequest(), timeout=TIMEOUT).models)

# Create with wait: a stream of progress messages, the last one done and Ready.
progress = list(leases.Create(lease_pb2.CreateLeaseRequest(spec=spec("py-lease"), wait=True), timeout=TIMEOUT))
out["create"] = {
    "phases": [phase(p.lease.phase) for p in progress],
    "messages": [p.message for p in progress],
    "last_done": progress[-1].done,
    "id": progress[-1].lease.id,
    "tenant": progress[-1].lease.tenant,
    "server": progress[-1].lease.placement.server_id,
}

listed = leases.List(lease_pb2.ListLeasesRequest(label_selector="client=python"), timeout=TIMEOUT)
out["list"] = [{"name": l.name, "id": l.id, "phase": phase(l.phase)} for l in listed.leases]
ready_only = leases.List(lease_pb2.ListLeasesRequest(phases=[lease_pb2.LEASE_PHASE_READY]), timeout=TIMEOUT)
out["list_ready"] = [l.name for l in ready_only.leases]

got = leases.Get(lease_pb2.GetLeaseRequest(name="py-lease"), timeout=TIMEOUT)
out["get"] = {"id": got.id, "phase": phase(got.phase), "models": [m.name for m in got.spec.models], "labels": dict(got.spec.labels)}

renewed = leases.Renew(lease_pb2.RenewLeaseRequest(name="py-lease", extend_by="2h"), timeout=TIMEOUT)
out["renew"] = {"phase": phase(renewed.phase), "held_until": renewed.held_until.seconds, "created_at": renewed.created_at.seconds}

unknown_model = spec("py-nomodel")
del unknown_model.models[:]
unknown_model.models.append(lease_pb2.ModelRef(name="no-such-model"))
out["errors"] = {
    "duplicate": failure(lambda: list(leases.Create(lease_pb2.CreateLeaseRequest(spec=spec("py-lease")), timeout=TIMEOUT))),
    "missing": failure(lambda: leases.Get(lease_pb2.GetLeaseRequest(name="no-such-lease"), timeout=TIMEOUT)),
    "invalid": failure(
        lambda: list(
            leases.Create(
                lease_pb2.CreateLeaseRequest(spec=lease_pb2.LeaseSpec(name="Bad_Name", resources=lease_pb2.Resources(gpu_memory="4Gb"))),
                timeout=TIMEOUT,
            )
        )
    ),
    "bad_duration": failure(lambda: leases.Renew(lease_pb2.RenewLeaseRequest(name="py-lease", extend_by="forever"), timeout=TIMEOUT)),
    "unknown_model": failure(lambda: list(leases.Create(lease_pb2.CreateLeaseRequest(spec=unknown_model), timeout=TIMEOUT))),
}

released = leases.Release(lease_pb2.ReleaseLeaseRequest(name="py-lease"), timeout=TIMEOUT)
after = leases.Get(lease_pb2.GetLeaseRequest(name=got.id), timeout=TIMEOUT)
out["release"] = {"phase": phase(released.phase), "get_by_id_after": phase(after.phase)}
out["renew_released"] = failure(lambda: leases.Renew(lease_pb2.RenewLeaseRequest(name="py-lease"), timeout=TIMEOUT))

# Paging: two more leases listed one a page, following next_page_token until it is empty.
for name in ["py-page-1", "py-page-2"]:
    paging_spec = spec(name)
    paging_spec.labels["client"] = "python-paging"
    list(leases.Create(lease_pb2.CreateLeaseRequest(spec=paging_spec), timeout=TIMEOUT))
paged, token, pages = [], "", 0
while True:
    page = leases.List(lease_pb2.ListLeasesRequest(label_selector="client=python-paging", page_size=1, page_token=token), timeout=TIMEOUT)
    paged += [l.name for l in page.leases]
    pages += 1
    token = page.next_page_token
    if not token or pages > 10:
        break
out["list_paged"] = {
    "names": paged,
    "pages": pages,
    "negative_size": failure(lambda: leases.List(lease_pb2.ListLeasesRequest(page_size=-1), timeout=TIMEOUT)),
    "bad_token": failure(lambda: leases.List(lease_pb2.ListLeasesRequest(page_token="nope"), timeout=TIMEOUT)),
}

channel.close()
print(json.dumps(out))
