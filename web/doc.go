// Package web is pophealth's web front for commissioners, IG leads and
// operators: server-rendered pages with every asset embedded in the binary,
// for networks with no internet.
//
// Commissioners read the suppressed reports of the purposes they are named
// on (tables, charts, CSV downloads); IG leads see purposes with their
// approval status and the verified audit trail; operators see jobs and
// their runs. People sign in with a local account (bcrypt-hashed password,
// signed session cookie) or through a trusted reverse proxy that names them
// in a header. Every page checks the role it needs; a refusal is audited.
//
// The pages never compute numbers: they draw queries.Report values, whose
// cells are suppressed when they are made.
package web
