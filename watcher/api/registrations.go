package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/flowwatch/flowwatch/watcher/deposit"
)

// maxCustomerRef bounds a registration's customer reference.
const maxCustomerRef = 128

// RegistrationRequest is PUT /v1/watched-deposit-addresses/{chain}/{address}'s body.
type RegistrationRequest struct {
	CustomerRef string `json:"customer_ref"`
}

// ImportRequest is POST /v1/watched-deposit-addresses's body: a bulk registration.
type ImportRequest struct {
	Chain     string              `json:"chain"`
	Addresses []ImportedRegistrar `json:"addresses"`
}

// ImportedRegistrar is one address of an ImportRequest.
type ImportedRegistrar struct {
	Address     string `json:"address"`
	CustomerRef string `json:"customer_ref"`
}

func checkCustomer(field, ref string) error {
	switch {
	case strings.TrimSpace(ref) == "":
		return &FieldError{field, "empty: the exchange's reference of the customer"}
	case len(ref) > maxCustomerRef:
		return &FieldError{field, fmt.Sprintf("%d bytes, at most %d", len(ref),
			maxCustomerRef)}
	}
	return nil
}

func (s *Server) getRegistration(w http.ResponseWriter, r *http.Request) {
	chain := r.PathValue("chain")
	addr, err := s.screen.Normalize(chain, r.PathValue("address"))
	if err != nil {
		s.fail(w, err)
		return
	}
	g, ok := s.registry.Get(chain, addr)
	if !ok {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("%s on %s is not a registered "+
			"deposit address", addr, chain))
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) putRegistration(w http.ResponseWriter, r *http.Request) {
	chain := r.PathValue("chain")
	addr, err := s.screen.Normalize(chain, r.PathValue("address"))
	if err != nil {
		s.fail(w, err)
		return
	}
	var req RegistrationRequest
	if !s.decode(w, r, &req) {
		return
	}
	if err := checkCustomer("customer_ref", req.CustomerRef); err != nil {
		s.fail(w, err)
		return
	}
	_, existed := s.registry.Get(chain, addr)
	g := deposit.Registration{Chain: chain, Address: addr, Customer: req.CustomerRef,
		At: s.opts.Now().UTC()}
	if err := s.registry.Put(r.Context(), g); err != nil {
		s.fail(w, err)
		return
	}
	code := http.StatusCreated
	if existed {
		code = http.StatusOK
	}
	writeJSON(w, code, g)
}

func (s *Server) deleteRegistration(w http.ResponseWriter, r *http.Request) {
	chain := r.PathValue("chain")
	addr, err := s.screen.Normalize(chain, r.PathValue("address"))
	if err != nil {
		s.fail(w, err)
		return
	}
	was, err := s.registry.Delete(r.Context(), chain, addr)
	if err != nil {
		s.fail(w, err)
		return
	}
	if !was {
		writeError(w, http.StatusNotFound, "", fmt.Sprintf("%s on %s is not a registered "+
			"deposit address", addr, chain))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) importRegistrations(w http.ResponseWriter, r *http.Request) {
	var req ImportRequest
	if !s.decode(w, r, &req) {
		return
	}
	if !batchSize(w, len(req.Addresses), s.opts.MaxRegister) {
		return
	}
	now := s.opts.Now().UTC()
	regs := make([]deposit.Registration, 0, len(req.Addresses))
	for i, a := range req.Addresses {
		addr, err := s.screen.Normalize(req.Chain, a.Address)
		if fe, ok := err.(*FieldError); ok && fe.Field == "address" {
			fe.Field = fmt.Sprintf("addresses[%d].address", i)
		}
		if err == nil {
			err = checkCustomer(fmt.Sprintf("addresses[%d].customer_ref", i), a.CustomerRef)
		}
		if err != nil {
			s.fail(w, err)
			return
		}
		regs = append(regs, deposit.Registration{Chain: req.Chain, Address: addr,
			Customer: a.CustomerRef, At: now})
	}
	if err := s.registry.Put(r.Context(), regs...); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"registered": len(regs)})
}
