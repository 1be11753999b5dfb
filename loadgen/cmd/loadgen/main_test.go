package main

import (
	"context"
	"strings"
	"testing"
)

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(context.Context, []string) error
		args []string
		want string
	}{
		{"send without target", runSend, nil, "-target is required"},
		{"send zero conns", runSend, []string{"-target", "tcp://127.0.0.1:1", "-conns", "0"}, "-conns"},
		{"send extra args", runSend, []string{"-target", "tcp://127.0.0.1:1", "x"}, "unexpected arguments"},
		{"send unknown flag", runSend, []string{"-nope"}, "not defined"},
		{"sink no listeners", runSink, []string{"-tcp", "", "-http", "", "-stats", ""}, "neither"},
		{"sink bad address", runSink, []string{"-tcp", "127.0.0.1:-1"}, "cannot listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(context.Background(), tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v; want one containing %q", err, tt.want)
			}
		})
	}
}
