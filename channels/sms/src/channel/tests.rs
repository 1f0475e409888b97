use super::*;

mod unit {
    use super::*;

    #[test]
    fn status_commands() {
        for t in [
            "STATUS ADU-2026-000042",
            "status adu-2026-000042",
            " Status:  ADU-2026-000042 ",
            "STATUS ADU 2026 42",
            "status adu2026000042",
        ] {
            assert_eq!(
                parse_status_command(t).as_deref(),
                Some("ADU-2026-000042"),
                "{t}"
            );
        }
        for t in [
            "STATUS",
            "status saya bagaimana?",
            "Statusnya ADU-2026-000042",
            "STATUS ADU-26-42",
            "STATUS ADU-2026-0000421",
            "Jalan rusak",
        ] {
            assert_eq!(parse_status_command(t), None, "{t}");
        }
    }

    #[test]
    fn config_problems() {
        let c: Config = toml_like(vec![("a", "/dev/ttyUSB0"), ("a", "")]);
        let p = c.problems();
        assert!(
            p.iter().any(|p| p.key == "channels.sms.modems[1].name"),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.key == "channels.sms.modems[1].port"),
            "{p:?}"
        );
        assert!(SmsChannel::new(c).is_err());
        assert!(SmsChannel::new(toml_like(vec![("m1", "/dev/ttyUSB0")])).is_ok());
    }

    fn toml_like(modems: Vec<(&str, &str)>) -> Config {
        Config {
            modems: modems
                .into_iter()
                .map(|(n, p)| ModemConfig {
                    name: n.into(),
                    port: p.into(),
                    baud: 115200,
                    pin: None,
                })
                .collect(),
            poll_secs: 30,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 10,
        }
    }
}

mod sim_tests {
    use std::time::Duration;

    use aduan_channel::ChannelContext;

    use super::*;
    use crate::sim::{deliver_pdus, Fault, ModemSim};

    fn config(port: &str) -> Config {
        Config {
            modems: vec![ModemConfig {
                name: "m1".into(),
                port: port.into(),
                baud: 115200,
                pin: None,
            }],
            poll_secs: 1,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 2,
        }
    }

    async fn until(secs: u64, f: impl Fn() -> bool) -> bool {
        let end = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < end {
            if f() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        f()
    }

    fn outbound(to: &str, text: &str) -> OutboundMessage {
        OutboundMessage {
            outbox_id: 1,
            channel: ChannelKind::Sms,
            to: Address::Phone(to.into()),
            register_no: "ADU-2026-000001".into(),
            subject: String::new(),
            text: text.into(),
            attachments: Vec::new(),
            message_id: "<x@y>".into(),
            references: vec!["sms:m1:abc".into()],
            automatic: true,
            choices: Vec::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receives_sends_and_survives_an_unplug() {
        let dir = std::env::temp_dir().join(format!("aduan-smsch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyUSB0").unwrap();
        // On the SIM before start: a plain SMS, a 2-part message (parts out of order), a
        // broken PDU and an operator promotion.
        sim.store(&deliver_pdus("+6281234567890", "Jalan rusak di RT 03", 0)[0]);
        let long = "Izin usaha saya belum terbit sejak tiga minggu. ".repeat(5);
        let parts = deliver_pdus("081298765432", &long, 9);
        assert_eq!(parts.len(), 2);
        sim.store(&parts[1]);
        sim.store(&parts[0]);
        sim.store("0004FFFF");
        sim.store(&crate::pdu::to_hex(&{
            let name = crate::gsm7::pack(&crate::gsm7::encode("TSEL").unwrap(), 0);
            let mut p = vec![0x00, 0x04, 7, 0xD0];
            p.extend_from_slice(&name);
            p.extend_from_slice(&[
                0x00, 0x00, 0x62, 0x11, 0x22, 0x31, 0x40, 0x00, 0x82, 0x02, 0xC8, 0x34,
            ]);
            p
        }));
        let ch = Arc::new(SmsChannel::new(config(sim.path().to_str().unwrap())).unwrap());
        let (ctx, sink) = ChannelContext::new_test();
        let shutdown = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        assert!(
            until(10, || sink.messages().len() == 4 && sim.inbox_len() == 0).await,
            "{:?} / inbox {}",
            sink.messages(),
            sim.inbox_len()
        );
        let msgs = sink.messages();
        let plain = msgs
            .iter()
            .find(|m| m.text == "Jalan rusak di RT 03")
            .expect("plain SMS");
        assert_eq!(plain.sender, Address::Phone("+6281234567890".into()));
        assert!(!plain.auto_generated);
        let joined = msgs
            .iter()
            .find(|m| m.text == long)
            .expect("multipart joined");
        assert_eq!(
            joined.sender,
            Address::Phone("+6281298765432".into()),
            "national number normalized"
        );
        let broken = msgs
            .iter()
            .find(|m| m.parse_error.is_some() && m.raw.is_some())
            .expect("broken PDU kept raw");
        assert!(broken.auto_generated);
        let promo = msgs
            .iter()
            .find(|m| m.display_name.as_deref() == Some("TSEL"))
            .expect("promotion");
        assert!(promo.auto_generated);
        assert!(ch.health().await.ready);
        // A new arrival is announced with +CMTI and registered at once.
        sim.deliver(&deliver_pdus("+6281234567890", "tambahan", 0)[0]);
        assert!(until(5, || sink.messages().len() == 5).await);
        // Sending: a long reply in parts, a status report back.
        sim.report_after_send(Some(0));
        let reply = "Terima kasih, pengaduan Anda ADU-2026-000001 kami proses. ".repeat(4);
        let receipt = ch.send(&outbound("+6281234567890", &reply)).await.unwrap();
        let sent: Vec<crate::pdu::Submit> = sim
            .sent()
            .iter()
            .map(|h| crate::pdu::decode_submit(&crate::pdu::from_hex(h).unwrap()).unwrap())
            .collect();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].to.value, "+6281234567890");
        let text = crate::pdu::UserData::join(
            &sent.iter().map(|s| s.user_data.clone()).collect::<Vec<_>>(),
        )
        .unwrap()
        .text();
        assert_eq!(text, reply);
        assert!(receipt.provider_id.starts_with("m1:"));
        assert!(
            until(5, || sink
                .reports()
                .iter()
                .any(|r| r.provider_ref == receipt.provider_id
                    && r.state == DeliveryState::Delivered))
            .await,
            "{:?}",
            sink.reports()
        );
        // Refusals: a permanent +CMS error, a transient one.
        sim.set_fault(Fault::Answer {
            prefix: "AT+CMGS".into(),
            line: "+CMS ERROR: 21".into(),
            times: 1,
        });
        assert!(matches!(
            ch.send(&outbound("+6281234567890", "x")).await,
            Err(SendError::Permanent(_))
        ));
        sim.set_fault(Fault::Answer {
            prefix: "AT+CMGS".into(),
            line: "+CMS ERROR: 331".into(),
            times: 1,
        });
        assert!(matches!(
            ch.send(&outbound("+6281234567890", "x")).await,
            Err(SendError::Transient { .. })
        ));
        // Unplugged: health goes down; messages that arrive meanwhile wait on the SIM; plugged
        // in again, they are registered, once.
        sim.unplug();
        assert!(until(10, || !ch.modem_health()[0].1.connected).await);
        assert!(!ch.health().await.ready);
        sim.plug().unwrap();
        sim.store(&deliver_pdus("+6281234567890", "setelah cabut", 0)[0]);
        assert!(
            until(15, || sink
                .messages()
                .iter()
                .any(|m| m.text == "setelah cabut"))
            .await
        );
        assert!(
            until(5, || ch.modem_health()[0].1.connected
                && sim.inbox_len() == 0)
            .await
        );
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops on shutdown")
            .unwrap()
            .unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}

mod supervisor_tests {
    use std::time::Duration;

    use aduan_channel::ChannelContext;

    use super::*;
    use crate::sim::{Fault, ModemSim};

    /// One modem `m1` on the simulator's port, polled every second, with short timeouts.
    fn one_modem(sim: &ModemSim, pin: Option<aduan_channel::Secret>) -> Config {
        Config {
            modems: vec![ModemConfig {
                name: "m1".into(),
                port: sim.path().to_str().unwrap().into(),
                baud: 9600,
                pin,
            }],
            poll_secs: 1,
            partial_timeout_secs: 3600,
            status_reports: true,
            validity_hours: 24,
            command_timeout_secs: 1,
        }
    }

    /// Trust finding 12: a SIM that refuses the configured PIN gets that PIN once — not on every
    /// reconnect, which would lock it with its PUK — and the modem stops, saying why without the
    /// PIN. The right PIN unlocks it and the modem serves.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_pin_stops_the_modem_after_one_try() {
        let dir = std::env::temp_dir().join(format!("aduan-smspin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (pin, good) in [("9876", false), ("1234", true)] {
            let sim = ModemSim::start(&dir, &format!("ttyPIN{pin}")).unwrap();
            sim.require_pin("1234");
            let cfg = one_modem(&sim, Some(aduan_channel::Secret::new(pin)));
            let ch = Arc::new(SmsChannel::new(cfg).unwrap());
            let (ctx, _sink) = ChannelContext::new_test();
            let stop = ctx.shutdown.clone();
            let task = {
                let ch = ch.clone();
                tokio::spawn(async move { ch.receive(ctx).await })
            };
            tokio::time::sleep(Duration::from_secs(4)).await;
            let tries = sim
                .commands()
                .iter()
                .filter(|c| c.to_ascii_uppercase().starts_with("AT+CPIN="))
                .count();
            let health = ch.health().await;
            if good {
                assert!(health.ready, "{}", health.detail);
                assert_eq!(tries, 1);
            } else {
                assert_eq!(tries, 1, "a refused PIN was tried again");
                assert_eq!(sim.pin_tries(), 2);
                assert!(!health.ready);
                assert!(
                    health.detail.contains("refused the configured PIN"),
                    "{}",
                    health.detail
                );
                assert!(!health.detail.contains(pin), "{}", health.detail);
            }
            stop.cancel();
            task.await.unwrap().unwrap();
        }
    }

    /// Trust finding 14: what the register cannot take now stays on the SIM, and nothing stalls
    /// the messages behind it: a status report not recorded stays until it is; a message the
    /// register refuses is registered raw and flagged (then deleted); a PDU whose header is
    /// longer than its user data is stored raw and flagged, not registered empty; a WAP push
    /// (MMS notification) is registered as automatic with a summary, never answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_on_the_sim_is_lost_or_stalls() {
        let dir = std::env::temp_dir().join(format!("aduan-smsraw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyRAW").unwrap();
        let text = crate::sim::deliver_pdus("+6281234567890", "Jalan rusak", 0).remove(0);
        let bad_udh = "00440B912618325476F8000062112231400082020500030102 01".replace(' ', "");
        let wap = "00440B912618325476F80004621122314000822C0605040B8423F00106226170706C69636174696F6E2F766E642E7761702E6D6D732D6D657373616765008C82";
        let report = "0006070B912618325476F8621122314000826211223140108200";
        for p in [text.as_str(), bad_udh.as_str(), wap, report] {
            sim.store(p);
        }
        let cfg = one_modem(&sim, None);
        let ch = Arc::new(SmsChannel::new(cfg).unwrap());
        let (ctx, sink) = ChannelContext::new_test();
        sink.reject_next(1);
        sink.fail_reports(1);
        let stop = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < end
            && (sim.inbox_len() > 0 || sink.reports().is_empty())
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            sim.inbox_len(),
            0,
            "everything left the SIM once registered"
        );
        assert_eq!(
            sink.reports().len(),
            1,
            "the report was recorded at the next scan"
        );
        let msgs = sink.messages();
        let refused = msgs
            .iter()
            .find(|m| m.external_id.starts_with("raw:") && m.text.contains("Jalan rusak"))
            .expect("the refused SMS registered raw");
        assert!(refused.parse_error.as_deref().unwrap().contains("refused"));
        assert_eq!(refused.sender, Address::Phone("+6281234567890".into()));
        let garbage = msgs
            .iter()
            .find(|m| m.raw.as_deref() == Some(bad_udh.as_bytes()))
            .expect("the broken PDU stored raw");
        assert!(
            garbage
                .parse_error
                .as_deref()
                .unwrap()
                .contains("longer than the user data"),
            "{:?}",
            garbage.parse_error
        );
        let push = msgs
            .iter()
            .find(|m| m.text.contains("WAP push"))
            .expect("the WAP push registered");
        assert!(push.auto_generated, "a machine message is never answered");
        assert!(push.raw.is_some());
        stop.cancel();
        task.await.unwrap().unwrap();
    }

    /// Two long SMS from one sender reusing reference and part count while the first is
    /// incomplete: the second's first part collides, is registered on its own (flagged) before
    /// it leaves the SIM, and the first message completes with its own parts — no text mixed,
    /// nothing deleted that was not kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reused_reference_keeps_the_messages_apart() {
        let dir = std::env::temp_dir().join(format!("aduan-smsref-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyREF").unwrap();
        let from = "+6281234567892";
        let a_text = format!(
            "Jalan rusak di RT 3. {}",
            "Mohon segera diperbaiki. ".repeat(8)
        );
        let b_text = format!(
            "Lampu padam di pasar. {}",
            "Sudah seminggu gelap. ".repeat(9)
        );
        let a = crate::sim::deliver_pdus(from, &a_text, 5);
        let b = crate::sim::deliver_pdus(from, &b_text, 5);
        assert_eq!((a.len(), b.len()), (2, 2));
        sim.store(&a[0]);
        sim.store(&b[0]);
        let ch = Arc::new(SmsChannel::new(one_modem(&sim, None)).unwrap());
        let (ctx, sink) = ChannelContext::new_test();
        let stop = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let collided = || {
            sink.messages().into_iter().find(|m| {
                m.parse_error
                    .as_deref()
                    .is_some_and(|e| e.contains("collides"))
            })
        };
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < end && (collided().is_none() || sim.inbox_len() > 0) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let c = collided().expect("the colliding part registered on its own");
        assert!(c.text.starts_with("Lampu padam"), "{}", c.text);
        assert!(c.raw.is_some());
        assert_eq!(sim.inbox_len(), 0, "both parts left the SIM once kept");
        // The first message's second part completes it, unmixed.
        sim.deliver(&a[1]);
        let end = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < end && !sink.messages().iter().any(|m| m.text == a_text)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            sink.messages().iter().any(|m| m.text == a_text),
            "{:?}",
            sink.messages()
                .iter()
                .map(|m| m.text.clone())
                .collect::<Vec<_>>()
        );
        stop.cancel();
        task.await.unwrap().unwrap();
    }

    /// A slot the modem refuses to delete (`+CMS ERROR: 321`, every time) stalls nothing: the
    /// scan goes past it, the message behind it is registered and freed, the modem stays up,
    /// and after three scans the slot is reported in the health for the admin.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_delete_does_not_stall_the_scan() {
        let dir = std::env::temp_dir().join(format!("aduan-smsdel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyDEL").unwrap();
        let first = crate::sim::deliver_pdus("+6281234567890", "Pesan pertama", 0).remove(0);
        let second = crate::sim::deliver_pdus("+6281234567891", "Pesan kedua", 0).remove(0);
        let stuck = sim.store(&first);
        sim.store(&second);
        sim.set_fault(crate::sim::Fault::Answer {
            prefix: format!("AT+CMGD={stuck}"),
            line: "+CMS ERROR: 321".into(),
            times: 1000,
        });
        let mut cfg = one_modem(&sim, None);
        cfg.poll_secs = 1;
        let ch = Arc::new(SmsChannel::new(cfg).unwrap());
        let (ctx, sink) = ChannelContext::new_test();
        let stop = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let end = tokio::time::Instant::now() + Duration::from_secs(15);
        let stuck_reported = || {
            ch.modem_health()
                .iter()
                .any(|(_, h)| h.stuck_slots.contains(&stuck))
        };
        while tokio::time::Instant::now() < end && (sim.inbox_len() > 1 || !stuck_reported()) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let texts: Vec<String> = sink.messages().iter().map(|m| m.text.clone()).collect();
        assert!(texts.iter().any(|t| t == "Pesan kedua"), "{texts:?}");
        assert_eq!(sim.inbox_len(), 1, "only the refused slot is left");
        assert!(stuck_reported(), "the stuck slot is reported");
        let h = ch.health().await;
        assert!(
            h.ready && h.detail.contains("cannot be deleted"),
            "{}",
            h.detail
        );
        stop.cancel();
        task.await.unwrap().unwrap();
    }

    /// A modem that answers garbage is reopened with backoff, reset after three failures in a
    /// row, and back in service when it behaves again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn garbage_leads_to_reopen_and_reset() {
        let dir = std::env::temp_dir().join(format!("aduan-smssup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sim = ModemSim::start(&dir, "ttyUSB1").unwrap();
        let cfg = one_modem(&sim, None);
        let ch = Arc::new(SmsChannel::new(cfg).unwrap());
        let (ctx, _sink) = ChannelContext::new_test();
        let stop = ctx.shutdown.clone();
        let task = {
            let ch = ch.clone();
            tokio::spawn(async move { ch.receive(ctx).await })
        };
        let up = |ch: &SmsChannel| ch.modem_health()[0].1.connected;
        let wait = |secs: u64, want: bool| {
            let ch = ch.clone();
            async move {
                let end = tokio::time::Instant::now() + Duration::from_secs(secs);
                while tokio::time::Instant::now() < end {
                    if up(&ch) == want {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                false
            }
        };
        assert!(wait(10, true).await);
        let gauges = ch.gauges();
        assert!(
            gauges
                .iter()
                .any(|g| g.name == "aduan_sms_signal_dbm" && g.value == -73.0),
            "{gauges:?}"
        );
        sim.set_fault(Fault::Garbage);
        assert!(
            wait(10, false).await,
            "garbage takes the modem out of service"
        );
        // Three failed sessions in a row, then the modem is reset.
        let end = tokio::time::Instant::now() + Duration::from_secs(30);
        while sim.resets() == 0 && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            sim.resets() >= 1,
            "AT+CFUN=1,1 after repeated failures: {:?}",
            sim.commands().iter().rev().take(5).collect::<Vec<_>>()
        );
        // The reset cleared the hang (as it does on a real modem): back in service by itself.
        assert!(wait(15, true).await, "back in service");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
