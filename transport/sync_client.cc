#include "transport/sync_client.h"

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "transport/asio.h"
#include "transport/connection.h"
#include "transport/tls.h"
#include "transport/url.h"

namespace daicho::transport {

namespace asio = detail::asio;
namespace ssl = asio::ssl;

Result<SyncReport> SyncOnce(std::string_view url, sync::ChangeStore& store, ReplicaId local_id,
                            sync::SessionOptions session, WebSocketOptions websocket, SyncHooks hooks) {
  DAICHO_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
  session.role = sync::SessionRole::kInitiator;
  try {
    asio::io_context ioc;
    std::optional<ssl::context> tls;
    if (parsed.tls) {
      tls.emplace(ssl::context::tls_client);
      TlsFiles files;
      files.ca_file = websocket.tls_ca_file;
      DAICHO_RETURN_IF_ERROR(ConfigureTls(*tls, TlsRole::kClient, files));
    }
    const auto on_peer_error = hooks.on_peer_error;
    detail::ConnectionOptions options;
    options.session = std::move(session);
    options.local_id = local_id;
    options.websocket = std::move(websocket);
    options.peer = parsed.Authority();
    options.hooks = std::move(hooks);
    const std::shared_ptr<detail::ConnectionBase> conn =
        detail::RunClientConnection(ioc, tls ? &*tls : nullptr, std::move(parsed), store, std::move(options));
    if (on_peer_error && conn->session().peer_error()) on_peer_error(*conn->session().peer_error());
    DAICHO_RETURN_IF_ERROR(conn->Outcome());
    const sync::SessionStats& s = conn->session().stats();
    SyncReport report;
    report.changes_up = s.changes_sent;
    report.changes_down = s.changes_received;
    report.bytes_up = s.frame_bytes_sent;
    report.bytes_down = s.frame_bytes_received;
    report.peer_version_vector = conn->session().peer_version_vector();
    if (sync::ExchangesChanges(conn->session().options().purpose)) {
      // Only for the report: the sync itself succeeded even if this read fails.
      if (auto held = store.GetVersionVector(); held.ok()) {
        report.changes_left = held->CountMissingFrom(report.peer_version_vector);
      }
    }
    if (const auto& welcome = conn->session().welcome()) report.granted = sync::AdmissionFromWelcome(*welcome);
    return report;
  } catch (const std::exception& e) {
    return Status(Code::kInternal, std::string("SyncOnce: ") + e.what());
  }
}

}  // namespace daicho::transport
