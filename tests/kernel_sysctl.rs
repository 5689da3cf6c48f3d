//! `lvs::sysctl` in the UML guest (each kernel `scripts/test` runs): which
//! settings exist, typed read and write, per namespace.

mod common;

use common::*;
use lvs::sysctl::{ALL, Sysctl, SysctlError, SysctlValue, Sysctls};

/// Settings that exist only with a module or a build option.
fn optional(s: Sysctl) -> bool {
    matches!(
        s,
        Sysctl::DebugLevel | Sysctl::LblcExpiration | Sysctl::LblcrExpiration
    )
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn the_settings_of_the_running_kernel_exist_and_later_ones_do_not() {
    // Run on 5.10, 6.1 and 6.12 (`scripts/test --kernels`), this bounds each
    // setting's `since` from both sides at three releases.
    let running = kernel_version();
    let ns = TestNetns::new();
    // IPVS sets up a namespace's settings when it is first used there.
    drop(ns.ipvs());
    let s = Sysctls::in_netns_path(ns.path());
    let mut wrong = Vec::new();
    for &setting in ALL {
        let got = s.get(setting);
        let expected = setting.since() <= running;
        match (&got, expected) {
            (Ok(v), true) => {
                // What sysctl(8) reads in the namespace is the same value.
                let text = ns.exec("sysctl", &["-n", &setting.to_string()]);
                let words: Vec<&str> = text.split_whitespace().collect();
                let mine = v.to_string();
                let mine_words: Vec<&str> = mine.split_whitespace().collect();
                if words != mine_words {
                    wrong.push(format!("{setting}: sysctl says {text:?}, lvs {v:?}"));
                }
            }
            (Err(SysctlError::NotAvailable(_)), false) => {}
            (_, _) if optional(setting) => {}
            _ => wrong.push(format!(
                "{setting} (since {:?}, running {running:?}): {got:?}",
                setting.since()
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let all = s.all().unwrap();
    assert!(all.iter().any(|(k, _)| *k == Sysctl::ConnReuseMode));
}

#[test]
#[ignore = "needs a kernel with IPVS: run scripts/test (UML guest)"]
fn kube_proxy_settings_write_read_back_and_stay_in_their_namespace() {
    let a = TestNetns::new();
    let b = TestNetns::new();
    drop(a.ipvs());
    drop(b.ipvs());
    let sa_ = Sysctls::in_netns_path(a.path());
    let sb = Sysctls::in_netns_path(b.path());
    let before_b = sb.all().unwrap();
    let wanted = [
        (Sysctl::Conntrack, 1),
        (Sysctl::ExpireNodestConn, 1),
        (Sysctl::ExpireQuiescentTemplate, 1),
        (Sysctl::ConnReuseMode, 0),
    ];
    for (s, v) in wanted {
        sa_.set_int(s, v).unwrap();
    }
    for (s, v) in wanted {
        assert_eq!(sa_.get_int(s).unwrap(), v, "{s}");
        assert_eq!(
            a.exec("sysctl", &["-n", &s.to_string()]).trim(),
            v.to_string(),
            "{s}"
        );
    }
    sa_.set(Sysctl::SyncThreshold, &SysctlValue::Pair(4, 40))
        .unwrap();
    assert_eq!(
        sa_.get(Sysctl::SyncThreshold).unwrap(),
        SysctlValue::Pair(4, 40)
    );
    // The other namespace is untouched.
    assert_eq!(sb.all().unwrap(), before_b);
    // The kernel's refusal is typed: a threshold not below its period.
    match sa_.set(Sysctl::SyncThreshold, &SysctlValue::Pair(60, 50)) {
        Err(SysctlError::Io { setting, source }) => {
            assert_eq!(setting, Sysctl::SyncThreshold);
            assert_eq!(source.raw_os_error(), Some(libc::EINVAL));
        }
        other => panic!("{other:?}"),
    }
    // A value of the wrong kind never reaches the kernel.
    assert!(matches!(
        sa_.set(Sysctl::Conntrack, &SysctlValue::Text("1".into())),
        Err(SysctlError::Invalid { .. })
    ));
    // A setting the running kernel lacks says so (est_nice arrived in 6.2).
    let est_nice = sa_.get(Sysctl::EstNice);
    if Sysctl::EstNice.since() > kernel_version() {
        assert!(
            matches!(est_nice, Err(SysctlError::NotAvailable(Sysctl::EstNice))),
            "{est_nice:?}"
        );
    } else {
        assert!(est_nice.is_ok(), "{est_nice:?}");
    }
}
