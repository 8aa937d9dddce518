// SmtpTransport: mail sent to an SMTP server with libcurl, always encrypted:
// `smtps://host[:465]` (TLS from the first byte) or `smtp://host[:587]`
// with STARTTLS required (a server that does not offer it gets nothing, not
// even the message in clear), the server's certificate verified (against
// the system's CAs or `ca_file`), and AUTH with a user and password when a
// user is given.
#ifndef DAICHO_RELAY_MAIL_SMTP_TRANSPORT_H_
#define DAICHO_RELAY_MAIL_SMTP_TRANSPORT_H_

#include <chrono>
#include <memory>
#include <string>

#include "relay/mail/mail_transport.h"

namespace daicho::relay::mail {

struct SmtpOptions {
  std::string url;  // smtp://host:port or smtps://host:port
  std::string user;
  std::string password;
  std::string ca_file;  // PEM; empty: the system's CAs
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds timeout{60};  // a whole delivery at most
};

class SmtpTransport : public MailTransport {
 public:
  // kInvalidArgument for a URL that is not smtp:// or smtps://, or a user
  // without a password; kInternal if libcurl cannot start.
  static Result<std::unique_ptr<SmtpTransport>> Create(SmtpOptions options);

  // One SMTP session per message. kUnauthenticated if the server refused
  // the login; kUnavailable for everything else (cannot connect, TLS or
  // STARTTLS refused, a certificate not trusted, a timeout, a recipient or
  // the message refused), with libcurl's words for the operator.
  Status Deliver(std::string_view from, std::string_view to, std::string_view message) override;
  std::string Describe() const override;

 private:
  explicit SmtpTransport(SmtpOptions options);
  SmtpOptions options_;
};

}  // namespace daicho::relay::mail

#endif  // DAICHO_RELAY_MAIL_SMTP_TRANSPORT_H_
