// The subcommands of `thermomaven`. Each returns the process exit code.
#pragma once

namespace thermomaven::app {

int import_command(int argc, char** argv);
int cooks_command(int argc, char** argv);
int export_command(int argc, char** argv);
int collect_command(int argc, char** argv);
int run_command(int argc, char** argv);
int serve_command(int argc, char** argv);
int doctor_command(int argc, char** argv);
int command_command(int argc, char** argv);
int hash_password_command(int argc, char** argv);

}  // namespace thermomaven::app
