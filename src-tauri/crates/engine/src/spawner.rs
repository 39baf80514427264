//! Child processes that must die with the app are started from one thread
//! that lives as long as the process. On Linux `PR_SET_PDEATHSIG` fires when
//! the *thread* that forked the child ends, not the process: a worker started
//! from a tokio blocking thread (which ends after 10 s idle) would be killed
//! with it, dropping its resident models or a generation in flight.

use std::io;
use std::process::{Child, Command};
use std::sync::{mpsc, Mutex, OnceLock};

type Order = (Command, mpsc::Sender<io::Result<Child>>);

static SPAWNER: OnceLock<Mutex<mpsc::Sender<Order>>> = OnceLock::new();

/// Starts `command` from the process's spawner thread and returns the child.
/// The child may be waited on, killed and read from any thread.
pub fn spawn(command: Command) -> io::Result<Child> {
    let orders = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Order>();
        std::thread::Builder::new()
            .name("child-spawner".into())
            .spawn(move || {
                // Never returns while the process runs: every sender is kept in the static.
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("the spawner thread starts");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    orders
        .lock()
        .expect("spawner lock")
        .send((command, reply))
        .map_err(|_| io::Error::other("the process spawner thread is gone"))?;
    answer.recv().map_err(|_| io::Error::other("the process spawner thread is gone"))?
}
