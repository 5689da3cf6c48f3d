// The moby/ipvs side of scripts/bench: the same scenario as benches/peers.rs,
// one step per run, in the network namespace it is run in. Built by
// scripts/bench against Debian's packaged sources (golang-go,
// golang-github-docker-docker-dev, which ships github.com/moby/ipvs), in GOPATH
// mode. Prints "seconds X" (in-process time).
//
//	moby create N D   N services x D destinations, one request at a time
//	moby dump N D     GetServices, then GetDestinations per service; checked
//	moby edit N       change one service's scheduler
//
// Service i is TCP 10.96.0.0+i:80 (rr), its destination j 10.244.0.0+4i+j:8080
// (masquerade, weight 1).
package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/moby/ipvs"
)

func ip(base uint32, i uint32) net.IP {
	b := make(net.IP, 4)
	binary.BigEndian.PutUint32(b, base+i)
	return b
}

func service(i uint32) *ipvs.Service {
	return &ipvs.Service{
		Address:       ip(0x0a600000, i),
		Protocol:      syscall.IPPROTO_TCP,
		Port:          80,
		SchedName:     "rr",
		AddressFamily: syscall.AF_INET,
		Netmask:       0xffffffff,
	}
}

func dest(i, j uint32) *ipvs.Destination {
	return &ipvs.Destination{
		Address:         ip(0x0af40000, i*4+j),
		Port:            8080,
		Weight:          1,
		ConnectionFlags: ipvs.ConnectionFlagMasq,
		AddressFamily:   syscall.AF_INET,
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "moby:", err)
	os.Exit(1)
}

func arg(i int) uint32 {
	if len(os.Args) <= i {
		usage()
	}
	v, err := strconv.ParseUint(os.Args[i], 10, 32)
	if err != nil {
		usage()
	}
	return uint32(v)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: moby create N D | dump N D | edit N")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	h, err := ipvs.New("")
	if err != nil {
		fail(err)
	}
	defer h.Close()
	switch os.Args[1] {
	case "create":
		n, d := arg(2), arg(3)
		t := time.Now()
		for i := uint32(0); i < n; i++ {
			s := service(i)
			if err := h.NewService(s); err != nil {
				fail(err)
			}
			for j := uint32(0); j < d; j++ {
				if err := h.NewDestination(s, dest(i, j)); err != nil {
					fail(err)
				}
			}
		}
		fmt.Printf("seconds %.6f\n", time.Since(t).Seconds())
	case "dump":
		n, d := arg(2), arg(3)
		t := time.Now()
		services, err := h.GetServices()
		if err != nil {
			fail(err)
		}
		dests := 0
		for _, s := range services {
			ds, err := h.GetDestinations(s)
			if err != nil {
				fail(err)
			}
			dests += len(ds)
		}
		secs := time.Since(t).Seconds()
		if uint32(len(services)) != n || uint32(dests) != n*d {
			fail(fmt.Errorf("incomplete dump: %d services, %d destinations", len(services), dests))
		}
		fmt.Printf("seconds %.6f\n", secs)
	case "edit":
		n := arg(2)
		s := service(n / 2)
		cur, err := h.GetService(s)
		if err != nil {
			fail(err)
		}
		if cur.SchedName == "rr" {
			s.SchedName = "wrr"
		}
		t := time.Now()
		if err := h.UpdateService(s); err != nil {
			fail(err)
		}
		fmt.Printf("seconds %.6f\n", time.Since(t).Seconds())
	default:
		usage()
	}
}
