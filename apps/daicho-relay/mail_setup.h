// The relay's mail settings on the command line (`serve`, `mail test`): the
// outbox directory, or an SMTP server with its login, and the sender.
#ifndef DAICHO_APPS_DAICHO_RELAY_MAIL_SETUP_H_
#define DAICHO_APPS_DAICHO_RELAY_MAIL_SETUP_H_

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "daicho/status.h"
#include "relay/mail/mail_transport.h"
#include "relay/mail/mime.h"

namespace daicho::apps {

struct MailFlags {
  std::string outbox;  // empty: <data dir>/outbox unless smtp_url is set
  std::string smtp_url;
  std::string smtp_user;
  std::string smtp_password_file;
  std::string smtp_ca_file;
  std::string from;
  std::string from_name = "daicho 台帳";
};

// Adds --mail-outbox, --smtp-url, --smtp-user, --smtp-password-file,
// --smtp-ca-file, --mail-from and --mail-from-name to `command`.
void AddMailFlags(CLI::App& command, MailFlags& flags);

// Where the flags send mail: the SMTP server when --smtp-url is given, else
// the outbox (default `data_dir`/outbox; an empty `data_dir`, a relay on
// PostgreSQL, has none). kInvalidArgument for flags that
// do not go together, kIoError for an unreadable password file or outbox.
Result<std::unique_ptr<relay::mail::MailTransport>> OpenMailTransport(const MailFlags& flags,
                                                                      const std::string& data_dir);

// The sender the flags name; kInvalidArgument if --mail-from is missing or
// not a mail address.
Result<relay::mail::MailSender> MailSenderOf(const MailFlags& flags);

// Sends one test mail to `to` the way the relay sends every mail (composed,
// queued, delivered once, no retry) and waits for the outcome: where it
// went (the transport's Describe), or why it was not sent.
Result<std::string> SendTestMail(const MailFlags& flags, const std::string& data_dir, const std::string& to);

}  // namespace daicho::apps

#endif  // DAICHO_APPS_DAICHO_RELAY_MAIL_SETUP_H_
