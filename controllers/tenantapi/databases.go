package tenantapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Databases makes and removes tenants' databases.
type Databases interface {
	// Create makes the database (and whatever it needs to be used alone)
	// and returns its connection URL. Creating one that exists returns its
	// URL again.
	Create(ctx context.Context, name string) (string, error)
	// Drop removes the database and everything in it; dropping one that
	// does not exist is not an error.
	Drop(ctx context.Context, name string) error
}

// Postgres makes tenants' databases on one Postgres server with an admin
// connection (a role with CREATEDB and CREATEROLE, or a superuser).
//
// Each tenant gets a database and a login role of the same name that owns
// it, with a random password; CONNECT is revoked from PUBLIC, so one
// tenant's engine cannot open another tenant's database.
type Postgres struct {
	// AdminURL is a postgres:// URL of the server as the admin role.
	AdminURL string
}

var dbNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Postgres error codes met when creating what exists.
const (
	pgDuplicateObject   = "42710"
	pgDuplicateDatabase = "42P04"
)

func (p Postgres) connect(ctx context.Context) (*pgx.Conn, error) {
	if p.AdminURL == "" {
		return nil, errors.New("no database server configured (--tenant-database-url)")
	}
	conn, err := pgx.Connect(ctx, p.AdminURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to the tenant database server: %s", redactURL(err.Error()))
	}
	return conn, nil
}

func (p Postgres) Create(ctx context.Context, name string) (string, error) {
	if !dbNameRE.MatchString(name) {
		return "", fmt.Errorf("invalid database name %q", name)
	}
	conn, err := p.connect(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pwRaw := make([]byte, 24)
	if _, err := rand.Read(pwRaw); err != nil {
		return "", err
	}
	password := hex.EncodeToString(pwRaw) // hex: safe inside a quoted literal
	ident := pgx.Identifier{name}.Sanitize()
	exec := func(sql string, tolerate string) error {
		_, err := conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if tolerate != "" && errors.As(err, &pgErr) && pgErr.Code == tolerate {
			return nil
		}
		return err
	}
	// The password is set again when the role exists, so a repeated
	// Create hands out a URL that works.
	if err := exec("CREATE ROLE "+ident+" LOGIN PASSWORD '"+password+"'", pgDuplicateObject); err != nil {
		return "", fmt.Errorf("creating role %s: %w", name, err)
	}
	if err := exec("ALTER ROLE "+ident+" LOGIN PASSWORD '"+password+"'", ""); err != nil {
		return "", fmt.Errorf("setting the password of role %s: %w", name, err)
	}
	// A non-superuser admin must be a member of a role to make it a
	// database's owner; for a superuser this is a no-op grant.
	_ = exec("GRANT "+ident+" TO CURRENT_USER", "")
	if err := exec("CREATE DATABASE "+ident+" OWNER "+ident, pgDuplicateDatabase); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	if err := exec("REVOKE ALL ON DATABASE "+ident+" FROM PUBLIC", ""); err != nil {
		return "", fmt.Errorf("revoking public access to database %s: %w", name, err)
	}
	u, err := url.Parse(p.AdminURL)
	if err != nil {
		return "", fmt.Errorf("the tenant database URL is not a URL")
	}
	u.User = url.UserPassword(name, password)
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func (p Postgres) Drop(ctx context.Context, name string) error {
	if !dbNameRE.MatchString(name) {
		return fmt.Errorf("invalid database name %q", name)
	}
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{name}.Sanitize()
	// FORCE ends the engine's sessions (Postgres 13+).
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+ident); err != nil {
		return fmt.Errorf("dropping role %s: %w", name, err)
	}
	return nil
}

var passwordInURL = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)

// redactURL hides passwords of URLs in a message.
func redactURL(s string) string {
	return passwordInURL.ReplaceAllString(s, "${1}redacted@")
}

// databaseName is the database (and role) of a tenant.
func databaseName(tenantID string) string {
	return "tenant_" + strings.ReplaceAll(tenantID, "-", "")
}
