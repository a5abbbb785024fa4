/* The task shim's main, in C (task_shim.c) so kumo-shim can link statically against musl.
 * Called with argv from "__task-shim" on (argv[0] == "__task-shim"):
 *   __task-shim [--cgroup=<dir>] <run_dir> <cwd> -- <command argv...>
 * with the task's environment already set by Launch (it is the shim's own environment, which
 * the command inherits). --cgroup: the shim moves itself into <dir> before forking the command,
 * so the command never runs outside its limits. Returns the shim's exit code: the command's
 * (128+signal when a signal killed it), 127 when the command could not be started, 2 on a usage
 * error. Must run before the process starts any thread (it forks). */
#ifndef KUMO_EXECUTOR_TASK_SHIM_H_
#define KUMO_EXECUTOR_TASK_SHIM_H_

#ifdef __cplusplus
extern "C" {
#endif

int kumo_run_task_shim(int argc, char** argv);

#ifdef __cplusplus
}
#endif

#endif /* KUMO_EXECUTOR_TASK_SHIM_H_ */
