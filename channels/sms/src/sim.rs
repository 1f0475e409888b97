//! A GSM modem simulator for tests: it answers AT commands over a pseudo-terminal the way a
//! modem does, so the channel opens it by path exactly as it would `/dev/ttyUSB0`. It keeps a
//! stored inbox, raises `+CMTI` when a message arrives, answers `AT+CMGS` with a message
//! reference (and a status report when asked to), and can be made to answer `ERROR`,
//! `+CMS ERROR`, nothing at all, garbage, or to be unplugged and plugged in again.
//!
//! Built only for tests (`cfg(test)` or the `simulator` feature).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::pdu::{self, to_hex};

/// How the simulator misbehaves on the next commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Answer the next matching command (prefix) with this final line instead.
    Answer {
        prefix: String,
        line: String,
        times: usize,
    },
    /// Answer nothing at all.
    Silent,
    /// Answer bytes that are no AT response.
    Garbage,
}

#[derive(Debug)]
struct State {
    echo: bool,
    inbox: BTreeMap<u32, (u8, String)>,
    capacity: u32,
    sent: Vec<String>,
    mr: u8,
    fault: Fault,
    commands: Vec<String>,
    /// Status (TP-ST) of the report raised after each send; `None`: no report.
    report_status: Option<u8>,
    resets: usize,
    /// The SIM's PIN (`None`: no PIN asked), whether it was entered, and the tries left
    /// before the SIM wants its PUK (3, as on a real SIM).
    pin: Option<String>,
    unlocked: bool,
    pin_tries: u8,
}

pub struct ModemSim {
    link: PathBuf,
    state: Arc<Mutex<State>>,
    port: Mutex<Option<Port>>,
}

struct Port {
    writer: Arc<Mutex<File>>,
    stop: Arc<AtomicBool>,
    master: OwnedFd,
    slave: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

impl ModemSim {
    /// Starts a simulated modem; its port is the path `dir/name` (a link to the pty).
    pub fn start(dir: &Path, name: &str) -> std::io::Result<Arc<ModemSim>> {
        let sim = Arc::new(ModemSim {
            link: dir.join(name),
            state: Arc::new(Mutex::new(State {
                echo: true,
                inbox: BTreeMap::new(),
                capacity: 30,
                sent: Vec::new(),
                mr: 0,
                fault: Fault::None,
                commands: Vec::new(),
                report_status: None,
                resets: 0,
                pin: None,
                unlocked: false,
                pin_tries: 3,
            })),
            port: Mutex::new(None),
        });
        sim.plug()?;
        Ok(sim)
    }

    pub fn path(&self) -> &Path {
        &self.link
    }

    /// Opens a fresh pseudo-terminal and points the port path at it.
    pub fn plug(&self) -> std::io::Result<()> {
        let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).map_err(std::io::Error::from)?;
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t)
            .map_err(std::io::Error::from)?;
        let slave_path = std::fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd()))?;
        let _ = std::fs::remove_file(&self.link);
        std::os::unix::fs::symlink(&slave_path, &self.link)?;
        let reader = File::from(pty.master.try_clone()?);
        let writer = Arc::new(Mutex::new(File::from(pty.master.try_clone()?)));
        let stop = Arc::new(AtomicBool::new(false));
        let (state, w, st) = (self.state.clone(), writer.clone(), stop.clone());
        let thread = std::thread::spawn(move || serve(reader, w, state, st));
        *self.port.lock().unwrap() = Some(Port {
            writer,
            stop,
            master: pty.master,
            slave: pty.slave,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Pulls the USB cable: the port goes away (reads and writes on it fail).
    pub fn unplug(&self) {
        let port = self.port.lock().unwrap().take();
        if let Some(mut p) = port {
            p.stop.store(true, Ordering::SeqCst);
            if let Some(t) = p.thread.take() {
                let _ = t.join();
            }
            drop(p.writer);
            drop(p.master);
            drop(p.slave);
        }
        let _ = std::fs::remove_file(&self.link);
    }

    /// A message arrives from the network: stored, announced with `+CMTI`.
    pub fn deliver(&self, pdu_hex: &str) -> u32 {
        let index = self.put(pdu_hex, 0);
        self.write(&format!("\r\n+CMTI: \"SM\",{index}\r\n"));
        index
    }

    /// Stores a message without announcing it (present before the daemon starts).
    pub fn store(&self, pdu_hex: &str) -> u32 {
        self.put(pdu_hex, 1)
    }

    fn put(&self, pdu_hex: &str, stat: u8) -> u32 {
        let mut s = self.state.lock().unwrap();
        let index = (1..=s.capacity)
            .find(|i| !s.inbox.contains_key(i))
            .expect("simulated storage is full");
        s.inbox.insert(index, (stat, pdu_hex.to_string()));
        index
    }

    /// Message slots in the simulated storage (30 by default, like a SIM).
    pub fn set_capacity(&self, n: u32) {
        self.state.lock().unwrap().capacity = n;
    }

    pub fn write(&self, text: &str) {
        if let Some(p) = self.port.lock().unwrap().as_ref() {
            let _ = p.writer.lock().unwrap().write_all(text.as_bytes());
        }
    }

    pub fn set_fault(&self, f: Fault) {
        self.state.lock().unwrap().fault = f;
    }

    /// Raise an SMS-STATUS-REPORT with this TP-ST after every send.
    /// The SIM asks for `pin` at every start (a real SIM after power-up); three wrong PINs
    /// lock it (`+CPIN: SIM PUK`).
    pub fn require_pin(&self, pin: &str) {
        let mut s = self.state.lock().unwrap();
        s.pin = Some(pin.into());
        s.unlocked = false;
        s.pin_tries = 3;
    }

    /// PIN attempts left before the SIM locks.
    pub fn pin_tries(&self) -> u8 {
        self.state.lock().unwrap().pin_tries
    }

    pub fn report_after_send(&self, status: Option<u8>) {
        self.state.lock().unwrap().report_status = status;
    }

    pub fn inbox_len(&self) -> usize {
        self.state.lock().unwrap().inbox.len()
    }

    /// The SMS-SUBMIT PDUs sent through the modem, in hex, in order.
    pub fn sent(&self) -> Vec<String> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn commands(&self) -> Vec<String> {
        self.state.lock().unwrap().commands.clone()
    }

    pub fn resets(&self) -> usize {
        self.state.lock().unwrap().resets
    }
}

/// The SMS-DELIVER PDUs (hex, with an empty SMSC) a phone at `from` produces for `text`:
/// one, or the parts of a concatenated message with `reference`.
pub fn deliver_pdus(from: &str, text: &str, reference: u8) -> Vec<String> {
    let opts = pdu::SubmitOptions {
        status_report: false,
        validity: None,
        reference,
    };
    let parts = pdu::encode_submit(from, text, &opts).expect("encodable test text");
    parts
        .iter()
        .map(|p| {
            let t = pdu::from_hex(&p.hex).expect("hex");
            let t = &t[1..];
            let alen = t[2] as usize;
            let ao = 2 + alen.div_ceil(2);
            let mut d = vec![0x00, (t[0] & 0x40) | 0x04];
            d.extend_from_slice(&t[2..2 + ao]);
            // PID, DCS, then a service-centre time stamp: 2026-11-22 13:04:00 +07:00.
            d.extend_from_slice(&[
                t[2 + ao],
                t[3 + ao],
                0x62,
                0x11,
                0x22,
                0x31,
                0x40,
                0x00,
                0x82,
            ]);
            d.extend_from_slice(&t[4 + ao..]);
            to_hex(&d)
        })
        .collect()
}

/// A TP-SCTS (semi-octets, UTC+07:00) for a moment.
fn scts(t: chrono::DateTime<chrono::Utc>) -> [u8; 7] {
    use chrono::{Datelike, Timelike};
    let t = t + chrono::Duration::hours(7);
    let bcd = |v: u32| ((v % 10) << 4 | (v / 10)) as u8;
    [
        bcd(t.year() as u32 % 100),
        bcd(t.month()),
        bcd(t.day()),
        bcd(t.hour()),
        bcd(t.minute()),
        bcd(t.second()),
        bcd(28), // +07:00 in quarters of an hour
    ]
}

impl Drop for ModemSim {
    fn drop(&mut self) {
        self.unplug();
    }
}

fn serve(
    mut reader: File,
    writer: Arc<Mutex<File>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
) {
    use nix::poll::{poll, PollFd, PollFlags};
    let mut buf = Vec::new();
    let mut pdu_len: Option<usize> = None;
    let mut chunk = [0u8; 512];
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let ready = {
            let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, 50u16).unwrap_or(0)
        };
        if ready == 0 {
            continue;
        }
        let n = match reader.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            if let Some(_len) = pdu_len {
                let Some(end) = buf.iter().position(|&b| b == 0x1a || b == 0x1b) else {
                    break;
                };
                let cancelled = buf[end] == 0x1b;
                let hex = String::from_utf8_lossy(&buf[..end]).trim().to_string();
                buf.drain(..=end);
                pdu_len = None;
                let out = if cancelled {
                    "\r\nOK\r\n".to_string()
                } else {
                    submit(&state, &hex)
                };
                let _ = writer.lock().unwrap().write_all(out.as_bytes());
                continue;
            }
            let Some(end) = buf.iter().position(|&b| b == b'\r') else {
                break;
            };
            let cmd = String::from_utf8_lossy(&buf[..end])
                .trim_matches(['\n', ' '])
                .to_string();
            buf.drain(..=end);
            if cmd.is_empty() {
                continue;
            }
            let (out, wait_pdu) = answer(&state, &cmd);
            if wait_pdu {
                pdu_len = Some(0);
            }
            if !out.is_empty() {
                let _ = writer.lock().unwrap().write_all(out.as_bytes());
            }
        }
    }
}

fn answer(state: &Mutex<State>, cmd: &str) -> (String, bool) {
    let mut s = state.lock().unwrap();
    s.commands.push(cmd.to_string());
    let echo = if s.echo {
        format!("{cmd}\r")
    } else {
        String::new()
    };
    // A reset reboots the modem whatever state it hung in: the fault is gone.
    if cmd.eq_ignore_ascii_case("AT+CFUN=1,1") {
        s.fault = Fault::None;
    }
    match &mut s.fault {
        Fault::Silent => return (String::new(), false),
        Fault::Garbage => return ("\u{fffd}\x07\x00~~~~\u{1}garbage".to_string(), false),
        Fault::Answer {
            prefix,
            line,
            times,
        } if cmd.starts_with(prefix.as_str()) && *times > 0 => {
            *times -= 1;
            let line = line.clone();
            if *times == 0 {
                s.fault = Fault::None;
            }
            return (format!("{echo}\r\n{line}\r\n"), false);
        }
        _ => {}
    }
    let ok = |body: &str| format!("{echo}{body}\r\nOK\r\n");
    let u = cmd.to_ascii_uppercase();
    let out = match u.as_str() {
        "AT" | "AT+CMEE=1" | "AT+CMGF=0" => ok(""),
        "ATE0" => {
            s.echo = false;
            "\r\nOK\r\n".to_string()
        }
        "AT+CPIN?" => match (&s.pin, s.unlocked, s.pin_tries) {
            (None, _, _) | (Some(_), true, _) => ok("\r\n+CPIN: READY\r\n"),
            (Some(_), false, 0) => ok("\r\n+CPIN: SIM PUK\r\n"),
            (Some(_), false, _) => ok("\r\n+CPIN: SIM PIN\r\n"),
        },
        _ if u.starts_with("AT+CPIN=") && s.pin.is_some() && !s.unlocked => {
            let given = cmd["AT+CPIN=".len()..].trim_matches('"');
            if s.pin_tries > 0 && Some(given) == s.pin.as_deref() {
                s.unlocked = true;
                ok("")
            } else {
                s.pin_tries = s.pin_tries.saturating_sub(1);
                format!("{echo}\r\n+CME ERROR: 16\r\n")
            }
        }
        "AT+CSQ" => ok("\r\n+CSQ: 20,99\r\n"),
        "AT+CREG?" => ok("\r\n+CREG: 0,1\r\n"),
        "AT+CFUN=1,1" => {
            s.resets += 1;
            s.echo = true;
            ok("")
        }
        "AT+CMGL=4" => {
            let mut body = String::new();
            for (i, (stat, pdu)) in &s.inbox {
                body.push_str(&format!(
                    "\r\n+CMGL: {i},{stat},,{}\r\n{pdu}",
                    pdu.len() / 2
                ));
            }
            for (_, v) in s.inbox.iter_mut() {
                v.0 = 1;
            }
            ok(&body)
        }
        _ if u.starts_with("AT+CPMS") => {
            let (used, cap) = (s.inbox.len(), s.capacity);
            ok(&format!(
                "\r\n+CPMS: \"SM\",{used},{cap},\"SM\",{used},{cap},\"SM\",{used},{cap}\r\n"
            ))
        }
        _ if u.starts_with("AT+CNMI") || u.starts_with("AT+CPIN=") => ok(""),
        _ if u.starts_with("AT+CMGD=") => match u["AT+CMGD=".len()..]
            .split(',')
            .next()
            .and_then(|i| i.parse::<u32>().ok())
        {
            Some(i) => {
                s.inbox.remove(&i);
                ok("")
            }
            None => format!("{echo}\r\n+CMS ERROR: 321\r\n"),
        },
        _ if u.starts_with("AT+CMGS=") => return (format!("{echo}\r\n> "), true),
        _ => format!("{echo}\r\nERROR\r\n"),
    };
    (out, false)
}

fn submit(state: &Mutex<State>, hex: &str) -> String {
    let mut s = state.lock().unwrap();
    if pdu::from_hex(hex).is_err() {
        return "\r\n+CMS ERROR: 304\r\n".into();
    }
    s.mr = s.mr.wrapping_add(1);
    let mr = s.mr;
    s.sent.push(hex.to_string());
    let mut out = format!("\r\n+CMGS: {mr}\r\n\r\nOK\r\n");
    if let Some(st) = s.report_status {
        // SMS-STATUS-REPORT for reference `mr`, naming the recipient and stamped with the time
        // the "service centre" took the message and the time it was delivered (now, WIB).
        let to = pdu::from_hex(hex)
            .ok()
            .and_then(|b| pdu::decode_submit(&b).ok())
            .and_then(|sub| pdu::encode_address(&sub.to.value).ok())
            .unwrap_or_else(|| vec![0x0b, 0x91, 0x26, 0x18, 0x32, 0x54, 0x76, 0xf8]);
        let now = scts(chrono::Utc::now());
        let mut r = vec![0x00, 0x06, mr];
        r.extend_from_slice(&to);
        r.extend_from_slice(&now);
        r.extend_from_slice(&now);
        r.push(st);
        out.push_str(&format!("\r\n+CDS: {}\r\n{}\r\n", r.len() - 1, to_hex(&r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::{open_port, AtEngine, AtError, Event};
    use crate::pdu::{encode_submit, SubmitOptions};

    const T: Duration = Duration::from_secs(3);
    const HELLO: &str = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "aduan-sim-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    }

    #[tokio::test]
    async fn a_modem_over_a_pty() {
        let d = dir();
        let sim = ModemSim::start(&d, "ttyUSB0").unwrap();
        sim.store(HELLO);
        let port = open_port(sim.path().to_str().unwrap(), 115200).unwrap();
        let mut m = AtEngine::new(port);
        m.command("ATE0", T).await.unwrap();
        assert_eq!(m.command("AT+CSQ", T).await.unwrap(), vec!["+CSQ: 20,99"]);
        let list = m.list_all(T).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].pdu, HELLO);
        m.delete(list[0].index, T).await.unwrap();
        assert_eq!(sim.inbox_len(), 0);
        // Arrival raises +CMTI.
        let i = sim.deliver(HELLO);
        assert_eq!(
            m.next_event(T).await.unwrap(),
            Some(Event::NewMessage {
                storage: "SM".into(),
                index: i
            })
        );
        // Sending, with a status report after it.
        sim.report_after_send(Some(0));
        let parts = encode_submit(
            "+6281234567890",
            &"panjang ".repeat(30),
            &SubmitOptions::default(),
        )
        .unwrap();
        for p in &parts {
            m.send_pdu(p, T).await.unwrap();
        }
        assert_eq!(sim.sent().len(), parts.len());
        let ev = m.next_event(T).await.unwrap();
        assert!(matches!(ev, Some(Event::Report(_))), "{ev:?}");
        // Faults.
        sim.set_fault(Fault::Answer {
            prefix: "AT+CMGS".into(),
            line: "+CMS ERROR: 331".into(),
            times: 1,
        });
        assert!(matches!(
            m.send_pdu(&parts[0], T).await,
            Err(AtError::Cms {
                code: Some(331),
                ..
            })
        ));
        sim.set_fault(Fault::Silent);
        assert!(matches!(
            m.command("AT", Duration::from_millis(200)).await,
            Err(AtError::Timeout(_))
        ));
        sim.set_fault(Fault::None);
        // A stray final from the silent command may still be pending: it is consumed as an answer.
        m.command("AT", T).await.unwrap();
        // Unplugged: the open port fails; plugged in again: a reopened port works.
        sim.unplug();
        let e = m.command("AT", T).await.unwrap_err();
        assert!(e.is_link_failure(), "{e}");
        sim.plug().unwrap();
        let mut m = AtEngine::new(open_port(sim.path().to_str().unwrap(), 115200).unwrap());
        m.command("AT", T).await.unwrap();
        let _ = std::fs::remove_dir_all(d);
    }
}
