// Links the installed library and calls into it without a network: prints a
// command body, a state name, and the refusal of an account without email.
#include <cstdio>
#include <thermomaven/client.hpp>

int main() {
  namespace client = thermomaven::client;
  client::Command command;
  command.action = client::Command::Action::Volume;
  command.device_id = "d1";
  command.model = "WT09";
  command.volume = "quiet";
  std::printf("%s\n", client::command_body(command, "c1").c_str());
  std::printf("%s\n", client::state_name(client::SessionState::Connected));
  try {
    client::Account account;
    account.password = "x";
    client::Cloud cloud(account);
  } catch (const std::invalid_argument& e) {
    std::printf("refused: %s\n", e.what());
    return 0;
  }
  return 1;
}
