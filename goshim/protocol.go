package goshim

import "encoding/json"

// protocolVersion is the engine protocol version this shim speaks (docs/engine-protocol.md).
const protocolVersion = 1

type request struct {
	Protocol int      `json:"protocol"`
	ID       int64    `json:"id"`
	Method   string   `json:"method"`
	Files    []string `json:"files,omitempty"`
	Config   string   `json:"config,omitempty"`
	Rules    []string `json:"rules,omitempty"`
	Select   []string `json:"select,omitempty"`
	Ignore   []string `json:"ignore,omitempty"`
	// FailLevel is sent only when set, so the engine's default (.gleak.yml's fail-level) applies.
	FailLevel string `json:"fail_level,omitempty"`
}

type response struct {
	Protocol      int             `json:"protocol"`
	ID            json.RawMessage `json:"id"`
	OK            bool            `json:"ok"`
	Error         *responseError  `json:"error"`
	EngineVersion string          `json:"engine_version"`
	Fingerprint   string          `json:"fingerprint"`
	Findings      []finding       `json:"findings"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type finding struct {
	RuleID    string `json:"rule_id"`
	RuleName  string `json:"rule_name"`
	Severity  string `json:"severity"`
	Message   string `json:"message"`
	Path      string `json:"path"`
	StartByte int    `json:"start_byte"`
	EndByte   int    `json:"end_byte"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
	Fix       *fix   `json:"fix"`
}

type fix struct {
	Description string     `json:"description"`
	Edits       []textEdit `json:"edits"`
}

type textEdit struct {
	Path      string `json:"path"`
	StartByte int    `json:"start_byte"`
	EndByte   int    `json:"end_byte"`
	NewText   string `json:"new_text"`
}
